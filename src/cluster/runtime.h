// ClusterRuntime: the cluster layer as `tlsgate serve` runs it, and the
// connection the `tlsgate cluster` verbs use (docs/CLUSTER.md).
//
// connect() reads cluster.secret_file, builds the client context of
// cluster.ssl_policy for the mTLS link to etcd (none for http:// endpoints
// under cluster.etcd_insecure, logged loudly) and makes the EtcdStore; it
// contacts nobody yet. From attach() on, the etcd link follows the gate's
// context of cluster.ssl_policy instead (Gate::cluster_context()): when its
// certificate, key, trusted_dir or revoked_dir change on disk, or on SIGHUP,
// the gate rebuilds it, and the next etcd connection uses the new one (kept
// idle connections made with the old one are closed; a running watch
// stream keeps its connection until it breaks). serve then calls catch_up() before the gate opens a
// listener: every committed replacement this node missed while it was down
// is applied to the policy files first, so the gate starts with them.
// attach() hands the node the running gate and starts its threads; stop()
// ends them (before the gate goes).
#pragma once

#include <memory>
#include <string>

#include "cluster/acme_link.h"
#include "cluster/node.h"
#include "cluster/propose.h"
#include "cluster/store.h"
#include "config/settings.h"
#include "pki/secret_box.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::net {
class Gate;
}

namespace tlsgate::cluster {

class ClusterRuntime {
 public:
  static util::Result<std::unique_ptr<ClusterRuntime>> connect(const config::Config& config,
                                                               bool expand_commands);
  ~ClusterRuntime();

  util::Status catch_up();
  void attach(net::Gate& gate);
  void stop();

  Store& store() { return *store_; }
  const Keys& keys() const { return keys_; }
  const pki::SecretBox& box() const { return box_; }
  const config::Config& config() const { return config_; }
  // Cluster-wide ACME (acme_link.h): hand it to acme::Manager::create.
  acme::ClusterLink& acme_link() { return *acme_link_; }
  // What this node knows now (the records as its watch keeps them).
  ClusterStatus status() const { return node_->status(); }
  // The facts proposals are checked against on this node: the policy files.
  util::Result<LocalHost::ScopeFacts> local_facts(const std::string& scope);

 private:
  ClusterRuntime(config::Config config, bool expand_commands, std::unique_ptr<Store> store,
                 pki::SecretBox box);

  struct EtcdTls;
  std::shared_ptr<EtcdTls> etcd_tls_;  // read by the store's connections, any thread
  config::Config config_;
  bool expand_commands_;
  std::unique_ptr<Store> store_;
  pki::SecretBox box_;
  Keys keys_;
  FilesHost files_;
  std::unique_ptr<LocalHost> gate_host_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<AcmeLink> acme_link_;
};

}  // namespace tlsgate::cluster
