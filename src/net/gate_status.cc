// The Gate methods the admin layer uses (net/gate_status.h): status(),
// connections(), close_connection(), reloads that report what they did,
// and the history status() keeps (reloads, failures per minute).
#include <algorithm>

#include <boost/asio/post.hpp>

#include "net/gate_impl.h"
#include "pki/certificate_info.h"
#include "util/strings.h"

namespace tlsgate::net {

ReloadOutcome Gate::Impl::reload_config() {
  ocsp->refresh_all();  // first: a check after the reload finds no old answer
  auto outcome = reloader->reload_config();
  util::MutexLock lock(admin_mu);
  last_config_reload = util::SystemClock::instance().now();
  last_config_reload_error = outcome.config_ok ? "" : util::join(outcome.config_errors, "; ");
  return outcome;
}

void Gate::Impl::record_reload(const tls::ReloadReport& r) {
  ReloadEvent e{.at = util::SystemClock::instance().now(),
                .scope = r.scope,
                .side = r.side,
                .ok = r.ok,
                .changed = r.changed,
                .old_serial = r.old_serial,
                .new_serial = r.new_serial,
                .error = r.error};
  util::MutexLock lock(admin_mu);
  reload_events.push_back(std::move(e));
  while (reload_events.size() > kReloadHistory) reload_events.pop_front();
}

ReasonTotals Gate::Impl::client_failures() const {
  ReasonTotals totals{};
  for (const auto& w : workers) {
    for (size_t c = 0; c < w->counters.size(); ++c) {
      const auto& counters = w->counters.connector(c);
      for (size_t r = 0; r < totals.size(); ++r) totals[r] += counters.handshake_failures[r].get();
    }
  }
  return totals;
}

// At each minute's end the failures of the minute go into the history.
void Gate::Impl::schedule_failure_minute(std::shared_ptr<asio::system_timer> timer) {
  util::SystemTime next;
  {
    util::MutexLock lock(admin_mu);
    next = minute_start + std::chrono::minutes(1);
  }
  timer->expires_at(std::chrono::time_point_cast<asio::system_timer::duration>(next));
  timer->async_wait([this, timer](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    auto totals = client_failures();
    auto now = util::SystemClock::instance().now();
    {
      util::MutexLock lock(admin_mu);
      FailureMinute m{.start = minute_start, .by_reason = {}};
      for (size_t r = 0; r < totals.size(); ++r) {
        if (totals[r] > minute_base[r]) {
          m.by_reason[std::string(tls::reason_name(static_cast<tls::FailureReason>(r)))] =
              totals[r] - minute_base[r];
        }
      }
      failure_minutes.push_back(std::move(m));
      while (failure_minutes.size() > kFailureMinutes - 1) failure_minutes.pop_front();
      minute_base = totals;
      minute_start = std::max(minute_of(now), minute_start + std::chrono::minutes(1));
    }
    schedule_failure_minute(timer);
  });
}

ConnectorStatus Gate::Impl::connector_status(const ConnectorRuntime& c) const {
  const auto& cs = c.settings;
  ConnectorStatus s;
  s.name = cs.name;
  s.listen_address = config::to_string(cs.listen_address);
  s.upstream_address = config::to_string(cs.upstream_address);
  s.protocol = config::to_string(cs.protocol);
  s.tls_level = config::to_string(cs.tls_level);
  if (cs.tls_level != config::TlsLevel::kDisabled) s.ssl_policy = cs.ssl_policy;
  s.upstream_ssl_policy = cs.upstream_ssl_policy.value_or("");
  s.accepted = c.stats.accepted.load(std::memory_order_relaxed);
  s.active = c.stats.active.load(std::memory_order_relaxed);
  s.refused = {{"max_connections", c.stats.refused_over_limit.load(std::memory_order_relaxed)},
               {"no_descriptors", c.stats.refused_no_descriptors.load(std::memory_order_relaxed)},
               {"tls_setup", c.stats.tls_setup_failures.load(std::memory_order_relaxed)}};
  std::array<std::array<uint64_t, 2>, kTlsVersionCount> handshakes{};
  ReasonTotals failures{}, upstream{};
  std::array<uint64_t, kRevalidationCloseCount> closed{};
  for (const auto& w : workers) {
    const auto& k = w->counters.connector(c.index);
    for (size_t v = 0; v < kTlsVersionCount; ++v) {
      for (size_t r = 0; r < 2; ++r) handshakes[v][r] += k.handshakes[v][r].get();
    }
    for (size_t r = 0; r < tls::kFailureReasonCount; ++r) {
      failures[r] += k.handshake_failures[r].get();
      upstream[r] += k.upstream_failures[r].get();
    }
    s.bytes_from_clients += k.bytes_from_clients.get();
    s.bytes_to_clients += k.bytes_to_clients.get();
    for (size_t r = 0; r < kRevalidationCloseCount; ++r)
      closed[r] += k.revalidation_closed[r].get();
    s.revocation_soft_fails += k.revocation_soft_fails.get();
  }
  for (size_t v = 0; v < kTlsVersionCount; ++v) {
    for (size_t r = 0; r < 2; ++r) {
      if (handshakes[v][r] > 0) {
        s.handshakes[{std::string(kVersionNames[v]), r == 1}] = handshakes[v][r];
      }
    }
  }
  for (size_t r = 0; r < tls::kFailureReasonCount; ++r) {
    std::string name(tls::reason_name(static_cast<tls::FailureReason>(r)));
    s.handshake_failures[name] = failures[r];
    s.upstream_failures[name] = upstream[r];
  }
  for (size_t r = 0; r < kRevalidationCloseCount; ++r) {
    s.revalidation_closed[std::string(kRevalidationCloseNames[r])] = closed[r];
  }
  return s;
}

void Gate::reload(std::function<void(ReloadOutcome)> done) {
  asio::post(impl_->control, [this, done = std::move(done)] { done(impl_->reload_config()); });
}

void Gate::reload_policy(std::string scope, std::function<void(ReloadOutcome)> done) {
  asio::post(impl_->control, [this, scope = std::move(scope), done = std::move(done)] {
    done(impl_->reloader->reload_policy(scope));
  });
}

GateStatus Gate::status() const {
  const auto& s = *impl_;
  GateStatus out;
  out.config_file = s.config.file.string();
  out.started_at = s.started_at;
  out.workers = static_cast<unsigned>(s.workers.size());
  for (const auto& c : s.connectors) out.connectors.push_back(s.connector_status(*c));
  for (auto& [key, state] : s.registry.states()) {
    PolicyStatus p;
    p.scope = key.first;
    p.side = key.second;
    if (auto e = s.entries.find(key); e != s.entries.end()) p.context = e->second->get();
    p.state = std::move(state);
    for (const auto& c : s.connectors) {
      bool uses = key.second == tls::Side::kServer
                      ? c->client_side && c->settings.ssl_policy == key.first
                      : c->upstream_side && c->settings.upstream_ssl_policy == key.first;
      if (uses) p.connectors.push_back(c->settings.name);
    }
    out.policies.push_back(std::move(p));
  }
  out.staples = s.ocsp->staple_states();
  const auto& oc = s.ocsp->counters();
  out.ocsp_fetches = oc.fetches.load(std::memory_order_relaxed);
  out.ocsp_fetch_failures = oc.fetch_failures.load(std::memory_order_relaxed);
  out.ocsp_own_revoked = oc.own_revoked.load(std::memory_order_relaxed);
  if (s.reloader) {
    out.user_maps = s.reloader->user_maps();
    out.last_config_reload_warnings = s.reloader->last_config_warnings();
  }
  auto totals = s.client_failures();
  util::MutexLock lock(s.admin_mu);
  out.last_config_reload = s.last_config_reload;
  out.last_config_reload_error = s.last_config_reload_error;
  out.reloads.assign(s.reload_events.begin(), s.reload_events.end());
  out.failures.assign(s.failure_minutes.begin(), s.failure_minutes.end());
  FailureMinute now{.start = s.minute_start, .by_reason = {}};
  for (size_t r = 0; r < totals.size(); ++r) {
    if (totals[r] > s.minute_base[r]) {
      now.by_reason[std::string(tls::reason_name(static_cast<tls::FailureReason>(r)))] =
          totals[r] - s.minute_base[r];
    }
  }
  out.failures.push_back(std::move(now));
  return out;
}

void Gate::connections(std::string connector, size_t limit,
                       std::function<void(std::vector<ConnectionInfo>)> done) {
  auto& s = *impl_;
  struct Gather {
    std::vector<ConnectionInfo> all;
    size_t left = 0;
    std::function<void(std::vector<ConnectionInfo>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->left = s.workers.size();
  g->done = std::move(done);
  auto by_age = [](const ConnectionInfo& a, const ConnectionInfo& b) {
    return a.since != b.since ? a.since < b.since : a.id < b.id;
  };
  if (g->left == 0) {
    asio::post(s.control, [g] { g->done({}); });
    return;
  }
  for (auto& w : s.workers) {
    asio::post(w->loop, [&s, &w = *w, g, connector, limit, by_age] {
      std::vector<ConnectionInfo> mine;
      for (const auto& [id, session] : w.live) {
        auto info = session->info();
        if (connector.empty() || info.connector == connector) mine.push_back(std::move(info));
      }
      std::sort(mine.begin(), mine.end(), by_age);
      if (mine.size() > limit) mine.resize(limit);
      asio::post(s.control, [g, limit, by_age, mine = std::move(mine)]() mutable {
        std::move(mine.begin(), mine.end(), std::back_inserter(g->all));
        if (--g->left > 0) return;
        std::sort(g->all.begin(), g->all.end(), by_age);
        if (g->all.size() > limit) g->all.resize(limit);
        g->done(std::move(g->all));
      });
    });
  }
}

void Gate::close_connection(uint64_t id, std::string who, std::function<void(bool found)> done) {
  auto& s = *impl_;
  struct Gather {
    bool found = false;
    size_t left = 0;
    std::function<void(bool)> done;
  };
  auto g = std::make_shared<Gather>();
  g->left = s.workers.size();
  g->done = std::move(done);
  if (g->left == 0) {
    asio::post(s.control, [g] { g->done(false); });
    return;
  }
  for (auto& w : s.workers) {
    asio::post(w->loop, [&s, &w = *w, g, id, who] {
      bool found = false;
      if (auto it = w.live.find(id); it != w.live.end()) {
        found = true;
        it->second->close_by(who);
      }
      asio::post(s.control, [g, found] {
        g->found = g->found || found;
        if (--g->left == 0) g->done(g->found);
      });
    });
  }
}

const PolicyStatus* policy_in_use(const GateStatus& status, const std::string& scope) {
  const PolicyStatus* any = nullptr;
  for (const auto& p : status.policies) {
    if (p.scope != scope || !p.context) continue;
    if (p.side == tls::Side::kServer) return &p;
    if (!any) any = &p;
  }
  return any;
}

}  // namespace tlsgate::net
