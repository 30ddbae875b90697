#include "cluster/runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/etcd_store.h"
#include "cluster/gate_host.h"
#include "net/gate.h"
#include "tls/context.h"
#include "util/mutex.h"
#include "util/versioned.h"

namespace tlsgate::cluster {

// The client context of the etcd link: the one connect() built, until
// attach() hands over the gate's entry of cluster.ssl_policy, which the
// gate's reloads (file watch, SIGHUP) replace; every new etcd connection
// asks for it (EtcdStore), so a reload applies to the next one.
struct ClusterRuntime::EtcdTls {
  mutable util::Mutex mu;
  std::shared_ptr<const tls::Context> built GUARDED_BY(mu);
  std::shared_ptr<util::Versioned<tls::Context>> live GUARDED_BY(mu);

  std::shared_ptr<const tls::Context> get() const {
    util::MutexLock lock(mu);
    return live ? live->get() : built;
  }
};

util::Result<std::unique_ptr<ClusterRuntime>> ClusterRuntime::connect(const config::Config& config,
                                                                      bool expand_commands) {
  const auto& k = config.cluster;
  auto box = pki::SecretBox::load(k.secret_file);
  if (!box) return util::fail(box.error());
  bool any_https = false;
  for (const auto& e : k.etcd_endpoints) any_https = any_https || e.starts_with("https://");
  EtcdStoreOptions options;
  options.endpoints = k.etcd_endpoints;
  auto etcd_tls = std::make_shared<EtcdTls>();
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
    {
      util::MutexLock lock(etcd_tls->mu);
      etcd_tls->built = *ctx;
    }
    options.tls_context = [etcd_tls] { return etcd_tls->get(); };
  }
  if (!any_https) {
    spdlog::warn(
        "cluster: etcd is reached over plaintext http:// (cluster.etcd_insecure=true): anyone "
        "on the path sees every record and can write them; private keys stay sealed. Use "
        "https:// with cluster.ssl_policy outside tests");
  }
  auto store = EtcdStore::create(std::move(options));
  if (!store) return util::fail(store.error().prefixed("cluster.etcd_endpoints"));
  auto runtime = std::unique_ptr<ClusterRuntime>(
      new ClusterRuntime(config, expand_commands, std::move(*store), std::move(*box)));
  runtime->etcd_tls_ = std::move(etcd_tls);
  return runtime;
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
  options.lease_ttl = std::chrono::seconds(
      std::max<int64_t>(2, static_cast<int64_t>(config_.cluster.lease_ttl.count())));
  for (const auto& scope : config_.cluster.scopes) {
    auto p = config_.policies.find(scope);
    if (p != config_.policies.end() && p->second.enabled && p->second.acme()) {
      options.acme_scopes.push_back(scope);
    }
  }
  node_ = std::make_unique<Node>(*store_, files_, box_, options, util::SystemClock::instance());
  acme_link_ = std::make_unique<AcmeLink>(*node_);
}

ClusterRuntime::~ClusterRuntime() { stop(); }

util::Status ClusterRuntime::catch_up() { return node_->sync(); }

void ClusterRuntime::attach(net::Gate& gate) {
  if (auto live = gate.cluster_context()) {
    util::MutexLock lock(etcd_tls_->mu);
    etcd_tls_->live = std::move(live);
  }
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
