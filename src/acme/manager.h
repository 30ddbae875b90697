// Manager: obtains and renews the certificate of every ACME policy of a
// gate (ssl.policy.<scope>.acme_directory, docs/ACME.md), on one thread.
//
// Per policy: the account (acme/account_store.h: key and URL under
// server.state_dir, made on first use, found again by its key), the names
// (config::acme_identifiers), and the challenge: tls-alpn-01 answered by the
// gate's own listeners (ManagerHost::challenges()), or http-01 by a
// responder on acme_http_address (bound by create(), so a port in use is a
// start error). A policy without a certificate file is due at once; one
// with a certificate that does not name every name is due at once too
// (acme_names changed); else at acme/schedule.h's renewal time, or inside
// the CA's ARI window when the directory offers renewalInfo.
//
// An issuance makes a fresh key (acme_key_type), checks that the chain's
// leaf matches it and names every name, writes key and certificate over the
// policy's files (tls::install_pair: atomic, modes 0400/0644, old pair kept
// as *.bak) and has the gate rebuild the policy at once; from then on every
// new handshake gets the new certificate and established connections keep
// theirs. A failure is logged with the CA's words and retried after
// acme::retry_delay(); the current certificate keeps being served. After a
// failure the account is looked up again from the state folder (a removed
// folder makes a new account; a CA that forgot the account gets it again),
// and an ARI `replaces` the CA refuses is dropped by the client.
//
// In a cluster (a policy in cluster.scopes, with a ClusterLink): only the
// node whose turn it is (ClusterLink::turn) talks to the CA for the policy;
// every other node's Manager only looks again, every cluster_recheck, and
// answers the challenges the renewer publishes (its own responder is handed
// to ClusterLink::answer_with). The renewer publishes its challenges to
// every node, and hands the pair to ClusterLink::deliver() instead of
// writing the files: it reaches every node's files as a cluster replacement.
// While that replacement is on its way, nobody renews the scope again.
//
// The thread never blocks the gate: it talks to the CA with bounded
// requests. stop() wakes a waiting thread at once and interrupts the
// challenge polling; a single request to the CA already under way may take
// its request_timeout (30 s) first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme/cluster_link.h"
#include "config/settings.h"
#include "tls/acme_answers.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/result.h"

namespace tlsgate::acme {

// What the manager needs of the gate it serves (acme/gate_host.h).
class ManagerHost {
 public:
  virtual ~ManagerHost() = default;
  // The tls-alpn-01 answers of the gate's listeners.
  virtual tls::AcmeChallengeStore& challenges() = 0;
  // Rebuild policy `scope` from its files now; the error when it failed.
  virtual util::Status reload(const std::string& scope) = 0;
};

// One policy, for status output and tests.
struct PolicyStatus {
  std::string scope;
  std::string directory;
  std::vector<std::string> names;
  bool has_certificate = false;
  util::SystemTime not_after{};
  util::SystemTime next_attempt{};
  uint64_t issued = 0;     // certificates obtained since start
  uint64_t failures = 0;   // failed attempts since start
  std::string last_error;  // "" after a success
};

// Makes the base_directory of every ACME policy, so that the gate watches
// it from the start (serve calls it before net::Gate::create).
util::Status make_policy_folders(const config::Config& config);

class Manager {
 public:
  struct Options {
    std::chrono::seconds request_timeout{30};
    // A node that does not renew a cluster-wide policy looks again this often.
    std::chrono::milliseconds cluster_recheck{1000};
  };

  // Null when no policy of `config` uses ACME. Binds the http-01 responders.
  // `cluster` (may be null: no cluster) takes the policies of cluster.scopes.
  static util::Result<std::unique_ptr<Manager>> create(const config::Config& config,
                                                       ManagerHost& host, Options options,
                                                       ClusterLink* cluster = nullptr);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  void start();
  void stop();
  std::vector<PolicyStatus> status() const;

 private:
  struct Job;
  struct Responders;
  Manager(const config::Config& config, ManagerHost& host, Options options);
  void run(const std::stop_token& stop);
  void attempt(Job& job, const std::stop_token& stop);
  util::Status renew(Job& job, const std::stop_token& stop);
  // A cluster-wide policy: true when this node renews it now; else the job
  // is put off to the next look (and the change is logged once).
  bool cluster_turn(Job& job);
  // The client with the CA's directory (no account yet), made once per job.
  util::Status open_directory(Job& job);

  config::Config config_;
  ManagerHost& host_;
  Options options_;
  std::unique_ptr<Responders> responders_;
  std::vector<std::unique_ptr<Job>> jobs_;  // fixed after create(); the thread's
  mutable util::Mutex mu_;
  std::condition_variable_any cv_;
  std::vector<PolicyStatus> status_ GUARDED_BY(mu_);
  std::jthread thread_;
};

}  // namespace tlsgate::acme
