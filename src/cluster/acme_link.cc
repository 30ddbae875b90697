#include "cluster/acme_link.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "cluster/propose.h"
#include "util/strings.h"

namespace tlsgate::cluster {
namespace {

bool holds(const std::optional<AcmeLock>& lock, const std::string& node, int64_t lease) {
  return lock && lock->node == node && lease != 0 && lock->lease == lease;
}

// Nothing more to wait for on `node`: aborted, or committed and applied
// (or failed) there.
bool resolved_on(const Entry& e, const std::string& node) {
  if (e.record.state == RecordState::kAborted) return true;
  if (e.record.state == RecordState::kProposed) return false;
  auto r = e.reports.find(node);
  return r != e.reports.end() &&
         (r->second.state == NodeState::kApplied || r->second.state == NodeState::kFailed);
}

}  // namespace

class AcmeLink::Publisher final : public acme::ChallengeResponder {
 public:
  Publisher(AcmeLink& link, std::string scope) : link_(link), scope_(std::move(scope)) {}

  util::Status publish(acme::ChallengeKind kind, const std::string& identifier,
                       const std::string& token, const std::string& key_authorization) override {
    Node& node = link_.node_;
    const auto& keys = node.keys();
    auto lock = acme_lock(keys, scope_, node.records());
    if (!holds(lock, node.name(), node.lease_)) {
      return util::fail("node " + node.name() + " no longer holds the ACME renewal lock " +
                        keys.acme_lock(scope_) + ", so it does not publish a challenge");
    }
    if (token.empty() || token.find('/') != std::string::npos) {
      return util::fail("the CA's challenge token \"" + token + "\" is not base64url");
    }
    AcmeChallenge c{kind, identifier, token, key_authorization, node.name()};
    auto written = node.store_.put(keys.acme_challenge(scope_, token), to_json(c), lock->lease);
    if (!written) {
      return util::fail(written.error().prefixed("publishing the challenge for " + identifier));
    }
    // The CA may reach any node: every node that is up answers before the
    // CA is told to look.
    const int64_t revision = *written;
    std::vector<std::string> missing;
    const bool all = node.wait_records(
        [&](const KvMap& kvs) {
          missing = acme_not_answering(keys, scope_, kvs, revision);
          return missing.empty();
        },
        std::chrono::steady_clock::now() + link_.answer_timeout_);
    if (!all) {
      spdlog::warn(
          "cluster: scope {}: node(s) {} did not confirm within {} s that they answer the {} "
          "challenge for {}; the CA is asked anyway, and fails if it reaches one of them",
          scope_, util::join(missing, ", "), link_.answer_timeout_.count(),
          acme::challenge_type(kind), identifier);
    }
    return {};
  }

  void withdraw(acme::ChallengeKind /*kind*/, const std::string& identifier,
                const std::string& token) override {
    Node& node = link_.node_;
    if (auto gone = node.store_.remove(node.keys().acme_challenge(scope_, token)); !gone) {
      spdlog::warn(
          "cluster: scope {}: the challenge record for {} could not be deleted ({}); it goes "
          "with the renewer's lease",
          scope_, identifier, gone.error().message());
    }
  }

 private:
  AcmeLink& link_;
  std::string scope_;
};

AcmeLink::AcmeLink(Node& node, std::chrono::seconds answer_timeout)
    : node_(node), answer_timeout_(answer_timeout) {}

AcmeLink::~AcmeLink() = default;

acme::ChallengeResponder& AcmeLink::publisher(const std::string& scope) {
  util::MutexLock lock(mu_);
  auto& p = publishers_[scope];
  if (!p) p = std::make_unique<Publisher>(*this, scope);
  return *p;
}

void AcmeLink::answer_with(const std::string& scope, acme::ChallengeResponder& local) {
  node_.answer_acme(scope, local);
}

acme::ClusterLink::Turn AcmeLink::turn(const std::string& scope) {
  const auto kvs = node_.records();
  const auto& me = node_.name();
  Turn t;
  auto lock = acme_lock(node_.keys(), scope, kvs);
  if (lock) t.holder = lock->node;
  t.mine = holds(lock, me, node_.lease_);
  if (!t.mine) return t;

  std::vector<KeyValue> list;
  list.reserve(kvs.size());
  for (const auto& [k, kv] : kvs) list.push_back(kv);
  const View view = read_view(node_.keys(), list);
  {
    util::MutexLock guard(mu_);
    if (auto d = delivered_.find(scope); d != delivered_.end()) {
      auto it = view.replacements.find(d->second);
      if (it == view.replacements.end()) {
        t.busy = "replacement " + d->second + ", proposed by this node, to be seen";
        return t;
      }
      if (!resolved_on(it->second, me)) {
        t.busy = "replacement " + d->second + " (its certificate) to be applied on this node";
        return t;
      }
      delivered_.erase(d);
    }
  }
  if (auto open = view.open.find(scope); open != view.open.end()) {
    auto it = view.replacements.find(open->second.first);
    if (it != view.replacements.end() && it->second.record.state == RecordState::kProposed) {
      t.busy = "replacement " + it->first + " of the scope, in flight";
      return t;
    }
  }
  if (const Entry* e = newest_committed(view, scope); e && !resolved_on(*e, me)) {
    t.busy = "replacement " + e->record.id + " to be applied on this node";
  }
  return t;
}

util::Status AcmeLink::deliver(const std::string& scope, const tls::CertificatePair& pair) {
  const auto& me = node_.name();
  auto lock = acme_lock(node_.keys(), scope, node_.records());
  if (!holds(lock, me, node_.lease_)) {
    return util::fail("node " + me + " no longer holds the ACME renewal lock " +
                      node_.keys().acme_lock(scope) + "; the node that holds it renews");
  }
  auto facts = node_.host_->facts(scope);
  if (!facts) return util::fail(facts.error());
  Proposal p;
  p.scope = scope;
  p.pair = pair;
  // The first certificate: no node serves one, nothing to switch over.
  p.immediate = facts->serial.empty();
  p.proposer = "ACME renewal on node " + me;
  p.guard = Condition{node_.keys().acme_lock(scope), lock->mod_revision};
  auto id = propose(node_.store_, node_.keys(), node_.box_, p, facts->target, node_.clock_);
  if (!id) return util::fail(util::join(id.error().reasons, "; "));
  {
    util::MutexLock guard(mu_);
    delivered_[scope] = *id;
  }
  spdlog::info("cluster: node {} proposed the ACME certificate of scope {} as replacement {}{}", me,
               scope, *id,
               p.immediate ? " (immediate: no node serves a certificate of the scope yet)" : "");
  return {};
}

}  // namespace tlsgate::cluster
