// The records tlsgate keeps in etcd for a cluster, and their JSON
// (docs/CLUSTER.md lists the same). Everything lives under
// `<cluster.key_prefix>/<cluster.name>/`:
//
//   members/<node>          the host names and addresses the node's
//                           connectors of each scope listen on, and the
//                           serial it serves per scope; kept while it is
//                           down, so a proposal can still check its names
//   alive/<node>            lease-bound: the node is up
//   retired/<scope>/<sha256> an issuer every node removes from the scope's
//                           trusted_dir (its file is renamed .retired-NAME)
//   open/<scope>            the id of the scope's replacement in flight:
//                           one at a time per scope (created only if absent)
//   replacements/<id>       one certificate replacement (Replacement)
//   reports/<id>/<node>     one node's state for that replacement (Report);
//                           keyed by node, so it can never be counted twice
//   acme/lock/<scope>       lease-bound (the holder's alive lease): the one
//                           node that talks to the ACME CA for the scope
//                           (AcmeLock, acme_records.h)
//   acme/challenges/<scope>/<token>
//                           lease-bound (the lock's lease): a challenge of
//                           the renewer's order in flight, which every node
//                           answers (AcmeChallenge); deleted when the order
//                           ends. It holds the key authorization only —
//                           public, the CA and any http-01 client see it —
//                           and never a private key: each node makes its
//                           own tls-alpn-01 certificate from it
//   acme/answering/<scope>/<node>
//                           lease-bound (that node's): the store revision up
//                           to which it answers every published challenge
//
// Parsing never trusts a record: anything malformed is an Error naming the
// key, and the caller skips that record (and says so) rather than acting.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pki/secret_box.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::cluster {

// Times in records are whole seconds since the epoch.
inline int64_t unix_seconds(util::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Where the records of one cluster live.
struct Keys {
  std::string base;  // "<key_prefix>/<name>/"

  std::string members() const { return base + "members/"; }
  std::string member(const std::string& node) const { return members() + node; }
  std::string alive() const { return base + "alive/"; }
  std::string alive(const std::string& node) const { return alive() + node; }
  std::string open(const std::string& scope) const { return base + "open/" + scope; }
  std::string retired() const { return base + "retired/"; }
  std::string retired(const std::string& scope, const std::string& fingerprint) const {
    return retired() + scope + "/" + fingerprint;
  }
  std::string replacements() const { return base + "replacements/"; }
  std::string replacement(const std::string& id) const { return replacements() + id; }
  std::string reports() const { return base + "reports/"; }
  std::string report(const std::string& id, const std::string& node) const {
    return reports() + id + "/" + node;
  }
  std::string acme_lock(const std::string& scope) const { return base + "acme/lock/" + scope; }
  std::string acme_challenges(const std::string& scope) const {
    return base + "acme/challenges/" + scope + "/";
  }
  std::string acme_challenge(const std::string& scope, const std::string& token) const {
    return acme_challenges(scope) + token;
  }
  std::string acme_answering(const std::string& scope) const {
    return base + "acme/answering/" + scope + "/";
  }
  std::string acme_answering(const std::string& scope, const std::string& node) const {
    return acme_answering(scope) + node;
  }
};
Keys keys_for(const std::string& key_prefix, const std::string& cluster_name);

struct Member {
  std::string node;
  // scope -> the hosts its connectors listen on (names a new certificate must cover)
  std::map<std::string, std::vector<std::string>> listen_hosts;
  std::map<std::string, std::string> serving;  // scope -> serial served now
  int64_t started = 0;                         // unix seconds
};

enum class RecordState { kProposed, kCommitted, kAborted };

struct Replacement {
  std::string id;
  std::string scope;
  std::string proposer;  // the node or operator tool that wrote it
  int64_t proposed_at = 0;
  std::string certificate_pem;  // leaf, then chain
  pki::Sealed key;              // the private key, sealed with the cluster secret
  std::string trust_pem;        // issuer(s) to add to every node's trust first; "" if none
  std::string serial;           // the new leaf's, hex
  int64_t not_after = 0;        // the new leaf's, unix seconds
  bool immediate = false;       // commit at once, without waiting for the nodes
  RecordState state = RecordState::kProposed;
  std::string commit_reason;  // why it committed, in words
  std::string decided_by;     // the node that committed or the tool that aborted
  int64_t decided_at = 0;

  // The associated data the key is sealed with: binds it to this record.
  std::string sealing_context() const { return "tlsgate replacement " + id + " scope " + scope; }
};

enum class NodeState { kTrusting, kStaged, kFailed, kApplied };

struct Report {
  std::string node;
  NodeState state = NodeState::kStaged;
  std::string reason;  // kFailed: what is wrong, in words; else what was done
  std::string serial;  // kApplied: the serial the node now serves
  int64_t at = 0;
};

const char* to_string(RecordState s);
const char* to_string(NodeState s);

std::string to_json(const Member& m);
std::string to_json(const Replacement& r);
std::string to_json(const Report& r);
util::Result<Member> parse_member(const std::string& key, const std::string& json);
util::Result<Replacement> parse_replacement(const std::string& key, const std::string& json);
util::Result<Report> parse_report(const std::string& key, const std::string& json);

}  // namespace tlsgate::cluster
