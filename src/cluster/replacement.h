// The replacement state machine (issue 15): what the records in etcd mean,
// and what a node must do next. No sockets, no etcd, no files: a View is
// read from a Store snapshot, and the decisions are pure functions of it and
// of the node's own facts (clock, the certificate it serves), so every rule
// below is unit-tested without etcd (tests/unit/cluster).
//
// Phases of one replacement, as `cluster status` shows them:
//   proposed   the record is written; nodes are validating and staging it
//   trusting   it brings a new issuer and some member has not yet added it
//              to its trust (no node switches before every node trusts it)
//   staged     every member has staged it; a node commits it next
//   committed  the switch is decided; nodes are applying it
//   applied    every member reports applied
//   failed     committed, and some member reports failed
//   aborted    an operator aborted it before it committed
// Commit rule (exactly one commit: a compare-and-put on the record's
// revision): every member staged, or the scope's current certificate has
// switch_before_expiry or less left (then without the members that are
// down, and those up that have not reported within a grace period), or the
// record says immediate.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/records.h"
#include "cluster/store.h"
#include "util/clock.h"

namespace tlsgate::cluster {

struct Entry {
  Replacement record;
  int64_t mod_revision = 0;  // of the record, for the compare-and-put
  std::map<std::string, Report> reports;
};

struct View {
  std::map<std::string, Member> members;                        // published, up or down
  std::map<std::string, bool> alive;                            // node -> its lease key exists
  std::map<std::string, Entry> replacements;                    // by id (ids sort by time)
  std::map<std::string, std::pair<std::string, int64_t>> open;  // scope -> (id, mod_revision)
  std::map<std::string, std::vector<std::string>> retired;      // scope -> issuer fingerprints
  std::map<std::string, std::string> acme_renewers;  // scope -> node holding acme/lock/<scope>
  std::vector<std::string> problems;                 // records that could not be read, in words
};

View read_view(const Keys& keys, const std::vector<KeyValue>& kvs);

enum class Phase { kProposed, kTrusting, kStaged, kCommitted, kApplied, kFailed, kAborted };
const char* to_string(Phase p);

Phase phase_of(const Entry& e, const std::vector<std::string>& members);

struct CommitFacts {
  util::SystemTime now{};
  // The scope's current certificate on the deciding node, if it has one.
  std::optional<util::SystemTime> current_not_after;
  std::chrono::seconds switch_before_expiry{3 * 86400};
  // Members up now (their lease key exists). Under the expiry rule a member
  // that is up but has not reported yet gets `grace` from the proposal to
  // stage before the commit goes on without it; members that are down are
  // not waited for.
  std::map<std::string, bool> alive;
  std::chrono::seconds grace{30};
};

// Why `e` commits now, in words, or nullopt while it must wait.
std::optional<std::string> commit_reason(const Entry& e, const std::vector<std::string>& members,
                                         const CommitFacts& facts);

// The committed replacement of `scope` that nodes must serve: the one
// committed last (highest record revision), or null.
const Entry* newest_committed(const View& view, const std::string& scope);

enum class Step {
  kNothing,
  kStage,  // validate on this node, add new trust, store the pair, report staged/failed
  kApply,  // install the pair, reload, report applied/failed
};

// What `node` must do for `e` now. A node applies only the newest committed
// replacement of a scope (an older one is superseded), and applies it when
// it has not reported applied: after a restart it catches up by itself.
Step next_step(const View& view, const Entry& e, const std::string& node);

}  // namespace tlsgate::cluster
