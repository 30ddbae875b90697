#include "cluster/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <fmt/format.h>

#include "cluster/propose.h"
#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "util/atomic_file.h"

namespace tlsgate::cluster {
namespace {

namespace fs = std::filesystem;

std::string label(const Entry& e) {
  return "cluster: replacement " + e.record.id + " (scope " + e.record.scope + ", serial " +
         e.record.serial + ")";
}

}  // namespace

ClusterStatus status_of(const config::Cluster& cluster, const View& view) {
  ClusterStatus s;
  s.name = cluster.name;
  s.node = cluster.node_name;
  s.members = cluster.members;
  for (const auto& m : cluster.members) s.alive[m] = view.alive.count(m) != 0;
  s.published = view.members;
  for (const auto& [id, e] : view.replacements) {
    s.replacements.push_back({e.record, phase_of(e, cluster.members), e.reports});
  }
  s.acme_renewers = view.acme_renewers;
  s.problems = view.problems;
  return s;
}

Node::Node(Store& store, LocalHost& host, pki::SecretBox box, NodeOptions options,
           const util::Clock& clock)
    : store_(store),
      host_(&host),
      box_(std::move(box)),
      options_(std::move(options)),
      clock_(clock),
      keys_(keys_for(options_.cluster.key_prefix, options_.cluster.name)) {}

Node::~Node() { stop(); }

void Node::set_host(LocalHost& host) { host_ = &host; }

View Node::current_view() const {
  util::MutexLock lock(mu_);
  std::vector<KeyValue> kvs;
  kvs.reserve(kvs_.size());
  for (const auto& [k, kv] : kvs_) kvs.push_back(kv);
  return read_view(keys_, kvs);
}

ClusterStatus Node::status() const {
  auto s = status_of(options_.cluster, current_view());
  util::MutexLock lock(mu_);
  s.connected = connected_;
  s.last_error = last_error_;
  return s;
}

util::Status Node::load_all() {
  auto snap = store_.range(keys_.base);
  if (!snap) return util::fail(snap.error());
  util::MutexLock lock(mu_);
  kvs_.clear();
  for (auto& kv : snap->kvs) kvs_[kv.key] = std::move(kv);
  revision_ = snap->revision;
  return {};
}

util::Status Node::publish_member() {
  Member m;
  m.node = options_.cluster.node_name;
  for (const auto& scope : options_.cluster.scopes) {
    auto f = host_->facts(scope);
    if (!f) continue;
    m.listen_hosts[scope] = f->target.listen_hosts;
    if (!f->serial.empty()) m.serving[scope] = f->serial;
  }
  const auto key = keys_.member(m.node);
  {
    util::MutexLock lock(mu_);
    if (auto it = kvs_.find(key); it != kvs_.end()) {
      auto old = parse_member(key, it->second.value);
      if (old && old->listen_hosts == m.listen_hosts && old->serving == m.serving) return {};
    }
  }
  m.started = unix_seconds(clock_.now());
  auto put = store_.put(key, to_json(m));
  if (!put) return util::fail(put.error());
  return {};
}

util::Status Node::ensure_lease() {
  if (lease_ != 0) return {};
  auto lease = store_.grant_lease(options_.lease_ttl);
  if (!lease) return util::fail(lease.error());
  auto put = store_.put(keys_.alive(options_.cluster.node_name), "{}", *lease);
  if (!put) return util::fail(put.error());
  lease_ = *lease;
  return {};
}

util::Status Node::sync() {
  if (auto s = ensure_lease(); !s) return s;
  if (auto s = load_all(); !s) return s;
  if (auto s = publish_member(); !s) return s;
  // A step's writes (a commit, a report) make the next step due; without a
  // watch, read again until nothing changes (bounded).
  for (int pass = 0; pass < 8; ++pass) {
    int64_t before = 0;
    {
      util::MutexLock lock(mu_);
      before = revision_;
    }
    step(current_view());
    if (auto s = load_all(); !s) return s;
    util::MutexLock lock(mu_);
    if (revision_ == before) break;
  }
  return publish_member();
}

util::Result<tls::CertificatePair> Node::open_pair(const Entry& e) const {
  auto key = box_.open(e.record.key, e.record.sealing_context());
  if (!key) return util::fail(key.error().prefixed("the replacement's private key"));
  tls::CertificatePair pair;
  pair.certificate_pem = e.record.certificate_pem;
  pair.private_key_pem = key->reveal();
  pair.origin = "replacement " + e.record.id + "'s";
  return pair;
}

util::Status Node::report(const Entry& e, NodeState state, std::string reason, std::string serial) {
  const auto& node = options_.cluster.node_name;
  if (auto it = e.reports.find(node); it != e.reports.end()) {
    const auto& old = it->second;
    if (old.state == state && old.reason == reason && old.serial == serial) return {};
  }
  Report r{node, state, std::move(reason), std::move(serial), unix_seconds(clock_.now())};
  auto put = store_.put(keys_.report(e.record.id, node), to_json(r));
  if (!put) return util::fail(put.error());
  if (state == NodeState::kFailed) {
    spdlog::warn("{}: {} on node {}: {}", label(e), to_string(state), node, r.reason);
  } else {
    spdlog::info("{}: {} on node {}: {}", label(e), to_string(state), node, r.reason);
  }
  return {};
}

util::Status Node::add_trust(const Entry& e, const LocalHost::ScopeFacts& facts) {
  const auto file = facts.target.policy.trusted_dir / ("cluster-" + e.record.id + ".crt");
  std::error_code ec;
  if (fs::exists(file, ec)) return {};
  fs::create_directories(file.parent_path(), ec);
  return util::write_file_atomic(file, e.record.trust_pem, 0644);
}

void Node::stage(const Entry& e) {
  const auto& scope = e.record.scope;
  auto facts = host_->facts(scope);
  if (!facts) {
    (void)report(e, NodeState::kFailed, facts.error().message());
    return;
  }
  auto pair = open_pair(e);
  if (!pair) {
    (void)report(e, NodeState::kFailed, pair.error().message());
    return;
  }
  auto target = facts->target;
  target.extra_trust_pem = e.record.trust_pem;
  if (auto ok = tls::check_pair(*pair, target, clock_); !ok) {
    (void)report(e, NodeState::kFailed, fmt::format("{}", fmt::join(ok.error().reasons, "; ")));
    return;
  }
  if (!e.record.trust_pem.empty()) {
    if (!report(e, NodeState::kTrusting,
                "adding the new issuer to ssl.policy." + scope +
                    ".trusted_dir before any node "
                    "switches"))
      return;
    if (auto added = add_trust(e, *facts); !added) {
      (void)report(e, NodeState::kFailed, added.error().message());
      return;
    }
    if (auto reloaded = host_->reload(scope); !reloaded) {
      (void)report(e, NodeState::kFailed,
                   "the policy did not reload with the new issuer: " + reloaded.error().message());
      return;
    }
  }
  const auto dir = options_.state_dir / "cluster" / e.record.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (auto w = util::write_file_atomic(dir / "private.key", pair->private_key_pem, 0600); !w) {
    (void)report(e, NodeState::kFailed, w.error().message());
    return;
  }
  util::wipe(pair->private_key_pem);
  if (auto w = util::write_file_atomic(dir / "public.crt", pair->certificate_pem, 0644); !w) {
    (void)report(e, NodeState::kFailed, w.error().message());
    return;
  }
  (void)report(e, NodeState::kStaged,
               e.record.trust_pem.empty()
                   ? "validated on this node and kept in " + dir.string()
                   : "the new issuer is trusted; validated and kept in " + dir.string());
}

void Node::apply(const Entry& e, bool caught_up) {
  const auto& scope = e.record.scope;
  auto fail = [&](const std::string& why) {
    last_failure_[e.record.id] = std::chrono::steady_clock::now();
    (void)report(e, NodeState::kFailed, why);
  };
  auto facts = host_->facts(scope);
  if (!facts) return fail(facts.error().message());
  const std::string note =
      caught_up ? "; caught up by itself: it was committed while this node was away" : "";
  if (facts->serial == e.record.serial) {
    (void)report(e, NodeState::kApplied, "serving serial " + e.record.serial + note,
                 e.record.serial);
    return;
  }
  auto pair = open_pair(e);
  if (!pair) return fail(pair.error().message());
  auto target = facts->target;
  target.extra_trust_pem = e.record.trust_pem;
  if (auto ok = tls::check_pair(*pair, target, clock_); !ok) {
    return fail(fmt::format("{}", fmt::join(ok.error().reasons, "; ")));
  }
  if (!e.record.trust_pem.empty()) {
    if (auto added = add_trust(e, *facts); !added) return fail(added.error().message());
  }
  if (auto w = tls::install_pair(*pair, target.policy); !w) return fail(w.error().message());
  util::wipe(pair->private_key_pem);
  auto serial = host_->reload(scope);
  if (!serial || *serial != e.record.serial) {
    auto why = serial ? "the policy reloaded but serves serial " + *serial
                      : "the policy did not reload: " + serial.error().message();
    auto restored = tls::restore_pair_backup(target.policy);
    (void)host_->reload(scope);
    return fail(why + (restored ? "; the old pair is back" : "; " + restored.error().message()));
  }
  (void)report(e, NodeState::kApplied, "serving serial " + *serial + note, *serial);
}

void Node::try_commit(const View& view, const Entry& e) {
  auto facts = host_->facts(e.record.scope);
  CommitFacts cf;
  cf.now = clock_.now();
  if (facts) cf.current_not_after = facts->not_after;
  cf.alive = view.alive;
  cf.grace = options_.tick * 2;
  cf.switch_before_expiry =
      std::chrono::duration_cast<std::chrono::seconds>(options_.cluster.switch_before_expiry);
  auto reason = commit_reason(e, options_.cluster.members, cf);
  if (!reason) return;
  Replacement r = e.record;
  r.state = RecordState::kCommitted;
  r.commit_reason = *reason;
  r.decided_by = options_.cluster.node_name;
  r.decided_at = unix_seconds(cf.now);
  auto won = store_.put_if(keys_.replacement(r.id), to_json(r), e.mod_revision);
  if (won && *won) spdlog::info("{}: committed by node {}: {}", label(e), r.decided_by, *reason);
}

void Node::step(const View& view) {
  const auto& scopes = options_.cluster.scopes;
  for (const auto& [id, e] : view.replacements) {
    if (std::find(scopes.begin(), scopes.end(), e.record.scope) == scopes.end()) continue;
    switch (next_step(view, e, options_.cluster.node_name)) {
      case Step::kNothing:
        // Its own report counts: a node stages before it judges the commit
        // (the next event or pass, with the report in the view).
        if (e.record.state == RecordState::kProposed) try_commit(view, e);
        break;
      case Step::kStage:
        stage(e);
        break;
      case Step::kApply: {
        if (auto it = last_failure_.find(id);
            it != last_failure_.end() &&
            std::chrono::steady_clock::now() - it->second < options_.tick) {
          break;  // failed a moment ago: retried on a later tick, not in a loop
        }
        auto mine = e.reports.find(options_.cluster.node_name);
        bool staged_here = mine != e.reports.end() && mine->second.state == NodeState::kStaged;
        apply(e, !staged_here);
        break;
      }
    }
  }
  for (const auto& [scope, fingerprints] : view.retired) {
    if (std::find(scopes.begin(), scopes.end(), scope) != scopes.end()) retire(scope, fingerprints);
  }
  step_acme();
  (void)publish_member();
}

void Node::retire(const std::string& scope, const std::vector<std::string>& fingerprints) {
  auto facts = host_->facts(scope);
  if (!facts) return;
  const auto& dir = facts->target.policy.trusted_dir;
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.starts_with(".")) continue;
    auto certs = pki::load_certificates(it->path());
    if (!certs) continue;
    for (const auto& c : *certs) {
      if (std::find(fingerprints.begin(), fingerprints.end(), issuer_key(c.get())) !=
          fingerprints.end()) {
        doomed.push_back(it->path());
        break;
      }
    }
  }
  if (doomed.empty()) return;
  for (const auto& file : doomed) {
    auto to = file.parent_path() / (".retired-" + file.filename().string());
    fs::rename(file, to, ec);
    if (ec) {
      spdlog::warn("cluster: cannot retire issuer file {}: {}", file.string(), ec.message());
      return;
    }
    spdlog::info(
        "cluster: scope {}: retired issuer file {} (kept as {}); its certificates are no longer "
        "trusted",
        scope, file.string(), to.filename().string());
  }
  if (auto r = host_->reload(scope); !r) {
    spdlog::warn("cluster: scope {}: reload after retiring an issuer failed: {}", scope,
                 r.error().message());
  }
}

}  // namespace tlsgate::cluster
