// Node: one tlsgate node's part in cluster certificate replacement
// (issue 15, docs/CLUSTER.md). It keeps this node's records in etcd
// (members/<node> with its listen hosts and serials, alive/<node> on a
// lease), watches the cluster's prefix, and acts on every replacement as
// the state machine (replacement.h) says: stage (validate on its own files
// and clock, add a new issuer to its trust first, keep the pair in
// state_dir), commit (compare-and-put, so exactly one node does), apply
// (the pair written over the policy's files atomically, the policy
// reloaded, the old pair restored if that fails) and report, once per
// state, under its own key.
//
// What touches this node's policies is behind LocalHost: the running gate
// (GateHost in serve) or the files alone (FilesHost: before the gate starts,
// so a node that was down applies what it missed before it serves; and in
// tests).
//
// Cluster-wide ACME (acme_link.h, acme_records.h): for each scope of
// NodeOptions::acme_scopes whose local answerer is set (answer_acme), the
// worker takes the scope's renewal lock on this node's lease when nobody
// holds it, and installs every challenge published for the scope into the
// local answerer (withdrawn when the record goes), then acknowledges
// (acme/answering/<scope>/<node>).
//
// Threads: start() runs a worker thread and a watch thread; every method
// is safe from any thread. sync() is the same work once, on the caller's
// thread (startup catch-up, tests). etcd down: the node keeps serving what
// it has, retries with backoff (retry_min doubling to retry_max) and goes on
// where the records stand when etcd is back; a step is one record write, so
// nothing is applied half.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme/client.h"
#include "cluster/acme_records.h"
#include "cluster/local_host.h"
#include "cluster/replacement.h"
#include "cluster/store.h"
#include "config/settings.h"
#include "pki/secret_box.h"
#include "tls/certificate_pair.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/result.h"

namespace tlsgate::cluster {

struct NodeOptions {
  config::Cluster cluster;
  std::filesystem::path state_dir;  // staged pairs in state_dir/cluster/<id>/
  std::chrono::seconds lease_ttl{10};
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::seconds tick{15};         // re-evaluation without events: the expiry rule, retries
  std::vector<std::string> acme_scopes;  // cluster.scopes with acme_directory
};

// One line of `cluster status` per replacement.
struct ReplacementStatus {
  Replacement record;  // without the sealed key's use: it stays sealed
  Phase phase = Phase::kProposed;
  std::map<std::string, Report> reports;
};
struct ClusterStatus {
  std::string name, node;
  bool connected = false;  // the last exchange with etcd worked
  std::string last_error;  // when not
  std::vector<std::string> members;
  std::map<std::string, bool> alive;
  std::map<std::string, Member> published;
  std::vector<ReplacementStatus> replacements;       // oldest first
  std::map<std::string, std::string> acme_renewers;  // scope -> the node that renews it (ACME)
  std::vector<std::string> problems;
};
ClusterStatus status_of(const config::Cluster& cluster, const View& view);

class Node {
 public:
  Node(Store& store, LocalHost& host, pki::SecretBox box, NodeOptions options,
       const util::Clock& clock);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Publishes members/<node>, reads the records and does every step due,
  // on this thread. Errors: etcd could not be reached or written.
  util::Status sync();
  // The worker and watch threads; stop() (or the destructor) ends them and
  // removes alive/<node>.
  void start();
  void stop();

  ClusterStatus status() const;
  // Serve swaps in the gate with this, before start() (the worker reads it
  // without a lock).
  void set_host(LocalHost& host);
  // Where this node answers the ACME challenges of `scope` (an acme_scopes
  // entry); from then on this node may also take the scope's renewal lock.
  void answer_acme(const std::string& scope, acme::ChallengeResponder& local);
  // Waits until `pred` holds for the records as the watch keeps them, or
  // until `deadline`; whether it held.
  bool wait_records(const std::function<bool(const KvMap&)>& pred,
                    std::chrono::steady_clock::time_point deadline);
  KvMap records() const;
  const Keys& keys() const { return keys_; }
  const std::string& name() const { return options_.cluster.node_name; }

 private:
  util::Status publish_member();
  util::Status ensure_lease();
  void step(const View& view);
  void stage(const Entry& e);
  void apply(const Entry& e, bool caught_up);
  void try_commit(const View& view, const Entry& e);
  void retire(const std::string& scope, const std::vector<std::string>& fingerprints);
  util::Status report(const Entry& e, NodeState state, std::string reason, std::string serial = {});
  util::Result<tls::CertificatePair> open_pair(const Entry& e) const;
  util::Status add_trust(const Entry& e, const LocalHost::ScopeFacts& facts);
  void run(std::stop_token stop);
  util::Status load_all();
  View current_view() const;
  void step_acme();
  void release_acme();
  friend class AcmeLink;

  Store& store_;
  LocalHost* host_;
  pki::SecretBox box_;
  NodeOptions options_;
  const util::Clock& clock_;
  Keys keys_;

  mutable util::Mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, KeyValue> kvs_ GUARDED_BY(mu_);  // the prefix, kept by the watch
  int64_t revision_ GUARDED_BY(mu_) = 0;
  bool dirty_ GUARDED_BY(mu_) = false;
  bool watch_broken_ GUARDED_BY(mu_) = false;
  bool connected_ GUARDED_BY(mu_) = false;
  std::string last_error_ GUARDED_BY(mu_);
  std::map<std::string, acme::ChallengeResponder*> answerers_ GUARDED_BY(mu_);  // by scope
  // Written by the worker (or sync's caller) only; read by AcmeLink.
  std::atomic<int64_t> lease_{0};
  // Worker only: the challenges installed in the local answerers, by scope
  // and token, and whether this node held each scope's lock at the last step.
  std::map<std::string, std::map<std::string, AcmeChallenge>> answered_;
  std::map<std::string, bool> held_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_failure_;  // id -> when
  std::jthread worker_;
};

}  // namespace tlsgate::cluster
