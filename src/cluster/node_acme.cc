// Node's part in cluster-wide ACME (node.h, acme_records.h): the renewal
// lock of each ACME scope, and the challenges every node answers.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/node.h"

namespace tlsgate::cluster {

void Node::answer_acme(const std::string& scope, acme::ChallengeResponder& local) {
  util::MutexLock lock(mu_);
  answerers_[scope] = &local;
  dirty_ = true;  // the worker takes the lock and installs what is published
  cv_.notify_all();
}

KvMap Node::records() const {
  util::MutexLock lock(mu_);
  return kvs_;
}

bool Node::wait_records(const std::function<bool(const KvMap&)>& pred,
                        std::chrono::steady_clock::time_point deadline) {
  util::MutexLock lock(mu_);
  // The watch thread notifies cv_ on every event; bounded by `deadline`.
  return cv_.wait_until(mu_, deadline, [&]() NO_THREAD_SAFETY_ANALYSIS { return pred(kvs_); });
}

void Node::step_acme() {
  KvMap kvs;
  int64_t revision = 0;
  std::map<std::string, acme::ChallengeResponder*> answerers;
  {
    util::MutexLock lock(mu_);
    if (answerers_.empty()) return;
    kvs = kvs_;
    revision = revision_;
    answerers = answerers_;
  }
  const auto& me = options_.cluster.node_name;
  const int64_t lease = lease_;
  for (const auto& scope : options_.acme_scopes) {
    auto local = answerers.find(scope);
    if (local == answerers.end()) continue;

    // The lock: taken when nobody holds it (or this node holds it on a lease
    // of its own that lapsed), in one compare-and-put, so one node wins.
    if (lease != 0) {
      if (auto when = acme_lock_takeover(keys_, scope, kvs, me, lease)) {
        AcmeLock mine{me, unix_seconds(clock_.now())};
        const std::string key = keys_.acme_lock(scope);
        auto won = store_.transact({*when}, {Write{key, to_json(mine), lease}});
        if (won && *won != 0) {
          // Into this node's view now, not only when the watch brings it: a
          // stop right after must find the lock to give it back.
          {
            util::MutexLock lock(mu_);
            auto& kv = kvs_[key];
            if (kv.mod_revision < *won) kv = KeyValue{key, to_json(mine), *won, *won, lease};
            kvs[key] = kv;
          }
          spdlog::info(
              "cluster: node {} now renews ACME scope {} (lock {} on its lease of {} s); the "
              "other nodes do not contact the CA for it",
              me, scope, keys_.acme_lock(scope), options_.lease_ttl.count());
        }
      }
    }
    auto holder = acme_lock(keys_, scope, kvs);
    const bool held = holder && holder->node == me && holder->lease == lease;
    if (held_[scope] && !held) {
      spdlog::warn("cluster: node {} no longer holds the ACME renewal lock of scope {} ({})", me,
                   scope, holder ? "node " + holder->node + " holds it" : "its lease lapsed");
    }
    held_[scope] = held;

    // The challenges: what is published is answered here, what is gone is not.
    std::vector<std::string> problems;
    auto wanted = acme_challenges(keys_, scope, kvs, &problems);
    for (const auto& p : problems) spdlog::warn("cluster: {}", p);
    auto& have = answered_[scope];
    for (auto it = have.begin(); it != have.end();) {
      auto w = wanted.find(it->first);
      if (w != wanted.end() && w->second == it->second) {
        ++it;
        continue;
      }
      local->second->withdraw(it->second.kind, it->second.identifier, it->first);
      it = have.erase(it);
    }
    bool all = true;
    int64_t newest = 0;
    for (const auto& [token, c] : wanted) {
      newest = std::max(newest, kvs.at(keys_.acme_challenge(scope, token)).mod_revision);
      if (have.count(token)) continue;
      if (auto st = local->second->publish(c.kind, c.identifier, token, c.key_authorization); !st) {
        all = false;
        spdlog::warn("cluster: node {} cannot answer the {} challenge of scope {} for {}: {}", me,
                     acme::challenge_type(c.kind), scope, c.identifier, st.error().message());
        continue;
      }
      have[token] = c;
      spdlog::info("cluster: node {} answers the {} challenge of node {}'s order for {} ({})", me,
                   acme::challenge_type(c.kind), c.renewer, c.identifier, scope);
    }
    // Acknowledged once per change: the ack's own event changes nothing.
    if (!all || newest == 0 || lease == 0) continue;
    int64_t acked = 0;
    if (auto a = kvs.find(keys_.acme_answering(scope, me)); a != kvs.end()) {
      try {
        acked = std::stoll(a->second.value);
      } catch (const std::exception&) {
        acked = 0;
      }
    }
    if (acked < newest) {
      (void)store_.put(keys_.acme_answering(scope, me), std::to_string(revision), lease);
    }
  }
}

void Node::release_acme() {
  const auto kvs = records();
  for (const auto& scope : options_.acme_scopes) {
    auto lock = acme_lock(keys_, scope, kvs);
    if (!lock || lock->node != options_.cluster.node_name) continue;
    // Only this very key: a lock another node took meanwhile stays.
    auto done = store_.transact({Condition{keys_.acme_lock(scope), lock->mod_revision}},
                                {Write{keys_.acme_lock(scope), "", 0, true}});
    if (done && *done != 0) {
      spdlog::info("cluster: node {} released the ACME renewal lock of scope {}",
                   options_.cluster.node_name, scope);
    }
  }
}

}  // namespace tlsgate::cluster
