#include "cluster/runtime.h"

#include <spdlog/spdlog.h>

#include "cluster/etcd_store.h"
#include "cluster/gate_host.h"
#include "tls/context.h"

namespace tlsgate::cluster {

util::Result<std::unique_ptr<ClusterRuntime>> ClusterRuntime::connect(const config::Config& config,
                                                                      bool expand_commands) {
  const auto& k = config.cluster;
  auto box = pki::SecretBox::load(k.secret_file);
  if (!box) return util::fail(box.error());
  bool any_https = false;
  for (const auto& e : k.etcd_endpoints) any_https = any_https || e.starts_with("https://");
  EtcdStoreOptions options;
  options.endpoints = k.etcd_endpoints;
  if (any_https) {
    auto policy = config.policies.find(k.ssl_policy);
    if (policy == config.policies.end()) {
      return util::fail("cluster.ssl_policy: policy " + k.ssl_policy +
                        " is not configured; configure ssl.policy." + k.ssl_policy + ".*");
    }
    tls::BuildOptions build;
    build.expand_commands = expand_commands;
    auto ctx = tls::build_context(policy->second, tls::Side::kClient, build,
                                  util::SystemClock::instance());
    if (!ctx) return util::fail(ctx.error().prefixed("cluster.ssl_policy " + k.ssl_policy));
    options.tls_context = [ctx = *ctx] { return ctx; };
  }
  if (!any_https) {
    spdlog::warn(
        "cluster: etcd is reached over plaintext http:// (cluster.etcd_insecure=true): anyone "
        "on the path sees every record and can write them; private keys stay sealed. Use "
        "https:// with cluster.ssl_policy outside tests");
  }
  auto store = EtcdStore::create(std::move(options));
  if (!store) return util::fail(store.error().prefixed("cluster.etcd_endpoints"));
  return std::unique_ptr<ClusterRuntime>(
      new ClusterRuntime(config, expand_commands, std::move(*store), std::move(*box)));
}

ClusterRuntime::ClusterRuntime(config::Config config, bool expand_commands,
                               std::unique_ptr<Store> store, pki::SecretBox box)
    : config_(std::move(config)),
      expand_commands_(expand_commands),
      store_(std::move(store)),
      box_(std::move(box)),
      keys_(keys_for(config_.cluster.key_prefix, config_.cluster.name)),
      files_(config_, expand_commands_, util::SystemClock::instance()) {
  NodeOptions options;
  options.cluster = config_.cluster;
  options.state_dir = config_.server.state_dir;
  node_ = std::make_unique<Node>(*store_, files_, box_, options, util::SystemClock::instance());
}

ClusterRuntime::~ClusterRuntime() { stop(); }

util::Status ClusterRuntime::catch_up() { return node_->sync(); }

void ClusterRuntime::attach(net::Gate& gate) {
  gate_host_ = std::make_unique<GateHost>(gate, expand_commands_);
  node_->set_host(*gate_host_);
  node_->start();
}

void ClusterRuntime::stop() {
  if (node_) node_->stop();
}

util::Result<LocalHost::ScopeFacts> ClusterRuntime::local_facts(const std::string& scope) {
  return files_.facts(scope);
}

}  // namespace tlsgate::cluster
