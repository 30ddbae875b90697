#include "net/gate.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <functional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "net/fd_budget.h"
#include "net/memory_trimmer.h"
#include "net/ocsp_engine.h"
#include "net/reloader.h"
#include "net/session.h"
#include "net/session_table.h"
#include "net/worker_counters.h"
#include "pki/certificate_info.h"
#include "tls/context_registry.h"
#include "util/fd.h"
#include "util/fd_limit.h"
#include "util/mutex.h"
#include "util/strings.h"

namespace tlsgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

namespace {

struct Worker {
  explicit Worker(size_t connectors) : counters(connectors) {}
  // Before the loop: sessions its destruction ends still count and unlist.
  WorkerCounters counters;
  LiveSessions live;
  asio::io_context loop{1};
  // Its established sessions; destroyed before the loop (detaching those
  // whose handlers the loop still holds).
  SessionTable sessions{loop};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // Filled by accept(2) for each acceptor's pending accept, so a session
  // knows its peer without a getpeername(2).
  std::deque<tcp::endpoint> peers;
  // Given up when accept(2) finds no descriptor left, to take the waiting
  // client and close it at once (refused, and not reported again and again).
  util::Fd spare{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  std::thread thread;
};

// How long create() waits for first OCSP staples before the ports open.
constexpr std::chrono::seconds kFirstStapleWait{2};
// What status() keeps: the latest reloads, the minutes of failure history.
constexpr size_t kReloadHistory = 100;
constexpr size_t kFailureMinutes = 60;

util::SystemTime minute_of(util::SystemTime t) {
  return std::chrono::time_point_cast<std::chrono::minutes>(t);
}

using ReasonTotals = std::array<uint64_t, tls::kFailureReasonCount>;

util::Result<tcp::endpoint> resolve_listen(const config::HostPort& hp) {
  std::string host = hp.host.empty() || hp.host == "*" ? "0.0.0.0" : hp.host;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, hp.port);
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(hp.port), ec);
  if (ec || results.empty()) return util::fail("cannot resolve " + host + ": " + ec.message());
  return results.begin()->endpoint();
}

}  // namespace

struct Gate::Impl {
  Impl(const config::Config& c, const GateOptions& o, std::shared_ptr<tls::TicketKeys> tickets)
      : config(c),
        options(o),
        // Always there (one idle thread), so a reload may turn stapling or
        // revocation checks on.
        ocsp(std::make_unique<OcspEngine>(
            OcspEngine::Options{
                .state_dir = c.server.state_dir,
                .on_peer_revoked =
                    [this](const std::string& fingerprint, const std::string& detail) {
                      close_revoked(fingerprint, detail);
                    }},
            util::SystemClock::instance())),
        registry({o.expand_commands, {}, std::move(tickets), ocsp->staples()},
                 util::SystemClock::instance()) {}
  // The watcher's thread reaches into the registry and the connectors until
  // it is joined: that comes first, also when run() never ran and so never
  // stopped it.
  ~Impl() { reloader.reset(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  config::Config config;  // as started; the Reloader reads this one too
  GateOptions options;
  std::unique_ptr<OcspEngine> ocsp;
  tls::ContextRegistry registry;
  // Keeps the OCSP engine told of every new server context (destroyed
  // before the registry and the engine).
  tls::ContextRegistry::Subscription ocsp_tracking;
  std::vector<std::unique_ptr<ConnectorRuntime>> connectors;
  std::unique_ptr<Reloader> reloader;
  std::vector<std::unique_ptr<Worker>> workers;
  // Registry reports to the workers' session tables; dropped before them.
  tls::ContextRegistry::Subscription revalidation;
  asio::io_context control{1};
  // Added in create(), before the ports open: a signal that arrives before
  // run() waits for it is held, not fatal.
  std::unique_ptr<asio::signal_set> signals;
  std::atomic<bool> stopping{false};
  FdBudget fds;  // set at the end of create(), read by every worker
  MemoryTrimmer trimmer;

  // The admin layer's state (status()): written on the control loop and by
  // the registry's observer, read by any thread.
  const util::SystemTime started_at = util::SystemClock::instance().now();
  std::map<tls::ContextRegistry::Key, tls::ContextRegistry::Entry> entries;  // set in create()
  std::shared_ptr<util::Versioned<tls::Context>> admin;  // admin.ssl_policy's, when enabled
  mutable util::Mutex admin_mu;
  std::deque<ReloadEvent> reload_events GUARDED_BY(admin_mu);
  std::optional<util::SystemTime> last_config_reload GUARDED_BY(admin_mu);
  std::string last_config_reload_error GUARDED_BY(admin_mu);
  std::deque<FailureMinute> failure_minutes GUARDED_BY(admin_mu);  // completed, oldest first
  util::SystemTime minute_start GUARDED_BY(admin_mu) = minute_of(started_at);
  ReasonTotals minute_base GUARDED_BY(admin_mu){};  // client failures before this minute
  // Feeds reload_events; dropped before what it writes.
  tls::ContextRegistry::Subscription reload_history;

  util::Status build_contexts();
  ReloadOutcome reload_config();
  ReasonTotals client_failures() const;
  void record_reload(const tls::ReloadReport& r);
  void schedule_failure_minute(std::shared_ptr<asio::system_timer> timer);
  ConnectorStatus connector_status(const ConnectorRuntime& c) const;
  util::Status bind_all();
  void accept(Worker& w, tcp::acceptor& acceptor, tcp::endpoint& peer, ConnectorRuntime& c);
  void accept_without_descriptors(Worker& w, tcp::acceptor& acceptor, tcp::endpoint& peer,
                                  ConnectorRuntime& c);
  uint64_t sessions_open() const;
  void begin_drain();
  void schedule_ticket_rotation(std::shared_ptr<asio::steady_timer> timer);
  void schedule_memory_check(std::shared_ptr<asio::steady_timer> timer);
  // Runs job(table) on every worker's loop, for its own session table.
  void on_every_worker(std::function<void(SessionTable&)> job);
  void close_peers(const std::string& scope, tls::Side side,
                   std::function<bool(const X509& leaf)> matches, std::string reason);
  void close_revoked(const std::string& fingerprint, const std::string& detail);
  void schedule_crl_check(std::shared_ptr<asio::steady_timer> timer);
  int drain_result = 0;
};

util::Status Gate::Impl::build_contexts() {
  auto acquire = [&](const std::string& scope,
                     tls::Side side) -> util::Result<tls::ContextRegistry::Entry> {
    auto policy = config.policies.find(scope);
    if (policy == config.policies.end()) return util::fail("ssl.policy." + scope + ": not defined");
    if (policy->second.trust_all) {
      spdlog::warn("ssl.policy.{}.trust_all=true: peers are NOT verified; use only for debugging",
                   scope);
    }
    return registry.acquire(policy->second, side);
  };
  for (const auto& [name, settings] : config.connectors) {
    auto rt = std::make_unique<ConnectorRuntime>();
    rt->settings = settings;
    rt->idle_timeout = config.server.idle_timeout;
    rt->ocsp = ocsp.get();
    if (settings.tls_level != config::TlsLevel::kDisabled) {
      auto side = acquire(settings.ssl_policy, tls::Side::kServer);
      if (!side) return util::fail(side.error());
      rt->client_side = *side;
      ocsp->track(settings.ssl_policy, *side);
    }
    if (settings.upstream_ssl_policy) {
      auto side = acquire(*settings.upstream_ssl_policy, tls::Side::kClient);
      if (!side) return util::fail(side.error());
      rt->upstream_side = *side;
    }
    rt->index = connectors.size();
    if (settings.user_map) {
      auto map = config::UserMap::load(*settings.user_map);
      if (!map) return util::fail(map.error().prefixed(user_map_key(name)));
      rt->user_map = std::make_shared<util::Versioned<config::UserMap>>(
          std::make_shared<const config::UserMap>(std::move(*map)));
    }
    if (rt->client_side) entries[{settings.ssl_policy, tls::Side::kServer}] = rt->client_side;
    if (rt->upstream_side) {
      entries[{*settings.upstream_ssl_policy, tls::Side::kClient}] = rt->upstream_side;
    }
    connectors.push_back(std::move(rt));
  }
  if (config.admin.enabled) {
    auto side = acquire(config.admin.ssl_policy, tls::Side::kServer);
    if (!side) return util::fail(side.error().prefixed("admin.ssl_policy"));
    admin = *side;
    entries[{config.admin.ssl_policy, tls::Side::kServer}] = admin;
  }
  return {};
}

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

util::Status Gate::Impl::bind_all() {
  unsigned threads = worker_count(config.server);
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(connectors.size()));
  }
  for (auto& c : connectors) {
    auto where = "connector." + c->settings.name + ".listen_address";
    auto endpoint = resolve_listen(c->settings.listen_address);
    if (!endpoint) return util::fail(endpoint.error().prefixed(where));
    for (auto& w : workers) {
      auto acceptor = std::make_unique<tcp::acceptor>(w->loop);
      boost::system::error_code ec;
      acceptor->open(endpoint->protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor->set_option(ReusePort(true), ec);
      if (!ec) acceptor->bind(*endpoint, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return util::fail(
            fmt::format("{}: cannot listen on {}: {}; stop what uses it or pick another "
                        "address",
                        where, config::to_string(c->settings.listen_address), ec.message()));
      }
      w->acceptors.push_back(std::move(acceptor));
      w->peers.emplace_back();
    }
  }
  return {};
}

void Gate::Impl::accept(Worker& w, tcp::acceptor& acceptor, tcp::endpoint& peer,
                        ConnectorRuntime& c) {
  acceptor.async_accept(peer, [this, &w, &acceptor, &peer, &c](const boost::system::error_code& ec,
                                                               tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec == asio::error::no_descriptors ||
        ec == boost::system::errc::too_many_files_open_in_system) {
      return accept_without_descriptors(w, acceptor, peer, c);
    }
    if (!ec) {
      c.stats.accepted.fetch_add(1, std::memory_order_relaxed);
      if (c.stats.active.load(std::memory_order_relaxed) >= c.settings.max_connections) {
        auto refused = c.stats.refused_over_limit.fetch_add(1, std::memory_order_relaxed) + 1;
        if (c.over_limit_log.admit()) {
          spdlog::warn("connector {}: {} connection(s) refused so far: max_connections={} reached",
                       c.settings.name, refused, c.settings.max_connections);
        }
        boost::system::error_code ignored;
        socket.close(ignored);
      } else if (uint64_t open = sessions_open(); !fds.admits(open)) {
        // Its backend socket would not fit: refused now, before the TLS handshake.
        note_fd_refusal(c, fds.limit());
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        trimmer.saw(open + 1);
        auto session = std::make_shared<Session>(w.loop, c, std::move(socket), peer, fds.limit());
        session->track_in(&w.sessions);
        session->count_in(w.counters.connector(c.index), &w.live);
        session->start();
      }
    }
    accept(w, acceptor, peer, c);
  });
}

// accept(2) said EMFILE or ENFILE: descriptors are gone (used outside the
// sessions counted). The waiting client is taken with the spare descriptor
// and closed at once; if even that fails, accepting pauses briefly rather
// than spinning on a listener that stays readable.
void Gate::Impl::accept_without_descriptors(Worker& w, tcp::acceptor& acceptor, tcp::endpoint& peer,
                                            ConnectorRuntime& c) {
  w.spare.reset();
  util::Fd client(::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC));
  bool refused = client.valid();
  client.reset();
  w.spare.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (refused) {
    note_fd_refusal(c, fds.limit());
    return accept(w, acceptor, peer, c);
  }
  auto pause = std::make_shared<asio::steady_timer>(w.loop, std::chrono::milliseconds(100));
  pause->async_wait([this, &w, &acceptor, &peer, &c, pause](const boost::system::error_code& ec) {
    if (!ec && acceptor.is_open()) accept(w, acceptor, peer, c);
  });
}

uint64_t Gate::Impl::sessions_open() const {
  uint64_t n = 0;
  for (const auto& c : connectors) n += c->stats.active.load(std::memory_order_relaxed);
  return n;
}

void Gate::Impl::begin_drain() {
  if (stopping.exchange(true)) return;
  for (auto& w : workers) {
    asio::post(w->loop, [&w] {
      for (auto& a : w->acceptors) {
        boost::system::error_code ec;
        a->close(ec);
      }
    });
  }
  auto active = [this] { return sessions_open(); };
  spdlog::info("draining: {} connection(s) open, waiting up to {}s (server.shutdown_timeout)",
               active(), config.server.shutdown_timeout.count());
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      config.server.shutdown_timeout);
  auto timer = std::make_shared<asio::steady_timer>(control);
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, timer, poll, deadline, active] {
    uint64_t left = active();
    if (left == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (left > 0) {
        spdlog::warn("shutdown_timeout reached: closing {} connection(s)", left);
        drain_result = 1;
      }
      for (auto& w : workers) w->loop.stop();
      reloader->stop();
      control.stop();
      *poll = nullptr;  // break the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

// Session ticket keys rotate on a schedule; the previous key still decrypts,
// so a client resumes across one rotation (and across any reload).
void Gate::Impl::schedule_ticket_rotation(std::shared_ptr<asio::steady_timer> timer) {
  timer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      config.server.ticket_key_rotation));
  timer->async_wait([this, timer](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    if (auto rotated = registry.rotate_ticket_keys(); !rotated) {
      spdlog::error("{}; the current session ticket keys stay, the next rotation tries again",
                    rotated.error().message());
    } else {
      spdlog::debug("session ticket keys rotated (server.ticket_key_rotation={}s)",
                    config.server.ticket_key_rotation.count());
    }
    schedule_ticket_rotation(timer);
  });
}

// After a spike of connections the heap they freed goes back to the system.
void Gate::Impl::schedule_memory_check(std::shared_ptr<asio::steady_timer> timer) {
  timer->expires_after(MemoryTrimmer::kCheckInterval);
  timer->async_wait([this, timer](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    uint64_t peak = trimmer.peak();
    uint64_t open = sessions_open();
    if (auto freed = trimmer.check(open)) {
      spdlog::info(
          "memory: {} connections at the peak, {} now: {} MiB of freed heap returned to "
          "the system",
          peak, open, *freed >> 20);
    }
    schedule_memory_check(timer);
  });
}

// A CRL that goes stale while the gate runs is said again every hour (the
// reload that loaded it said it first), until a fresh one replaces it.
void Gate::Impl::schedule_crl_check(std::shared_ptr<asio::steady_timer> timer) {
  timer->expires_after(std::chrono::hours(1));
  timer->async_wait([this, timer](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    std::set<std::string> said;  // a policy serving several connectors or both sides: once
    const auto now = util::SystemClock::instance().now();
    for (const auto& c : connectors) {
      for (const auto& entry : {c->client_side, c->upstream_side}) {
        if (!entry) continue;
        for (const auto& w : tls::crl_warnings(*entry->get(), now)) {
          if (said.insert(w).second) spdlog::warn("{}", w);
        }
      }
    }
    schedule_crl_check(timer);
  });
}

void Gate::Impl::on_every_worker(std::function<void(SessionTable&)> job) {
  auto shared = std::make_shared<const std::function<void(SessionTable&)>>(std::move(job));
  for (auto& w : workers) asio::post(w->loop, [shared, &table = w->sessions] { (*shared)(table); });
}

Gate::Gate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gate::~Gate() = default;

util::Result<std::unique_ptr<Gate>> Gate::create(const config::Config& config,
                                                 const GateOptions& options) {
  // The limit the application set (tlsgate serve raises it to the hard one).
  const uint64_t limit = util::fd_limit().soft;
  if (auto shortfall = fd_shortfall(config, limit); !shortfall.empty()) {
    spdlog::warn("{}", shortfall);
  }
  auto tickets = tls::TicketKeys::create();
  if (!tickets) return util::fail(tickets.error());
  auto impl = std::make_unique<Impl>(config, options, std::move(*tickets));
  if (options.handle_signals) {
    impl->signals = std::make_unique<asio::signal_set>(impl->control, SIGINT, SIGTERM, SIGHUP);
  }
  if (auto st = impl->build_contexts(); !st) return util::fail(st.error());
  {
    // Every context published, for status().reloads (the Reloader adds
    // the failed attempts).
    auto* gate = impl.get();
    impl->reload_history =
        impl->registry.subscribe([gate](const tls::ReloadReport& r) { gate->record_reload(r); });
  }
  {
    auto* gate = impl.get();
    impl->ocsp_tracking = impl->registry.subscribe([gate](const tls::ReloadReport& r) {
      if (!r.changed || r.side != tls::Side::kServer) return;
      for (const auto& c : gate->connectors) {
        if (c->client_side && c->settings.ssl_policy == r.scope) {
          gate->ocsp->track(r.scope, c->client_side);
          break;
        }
      }
    });
    // A first staple before the ports open, unless a cached one was loaded.
    impl->ocsp->wait_first(kFirstStapleWait);
  }
  if (auto st = impl->bind_all(); !st) return util::fail(st.error());
  // Re-validation: each publication is walked on the workers, after it.
  Impl* gate = impl.get();
  impl->revalidation = impl->registry.subscribe([gate](const tls::ReloadReport& r) {
    std::string trigger = fmt::format("ssl.policy.{} ({}) was reloaded", r.scope,
                                      r.side == tls::Side::kServer ? "incoming" : "outgoing");
    gate->on_every_worker([scope = r.scope, side = r.side, trigger](SessionTable& t) {
      t.revalidate_policy(scope, side, trigger);
    });
  });
  auto on_user_map = [gate](const ConnectorRuntime& c) {
    gate->on_every_worker(
        [&c, trigger = user_map_key(c.settings.name) + " was reloaded"](SessionTable& t) {
          t.revalidate_connector(c, {.kind = Revalidation::Kind::kUserMap, .trigger = trigger});
        });
  };
  auto reloader = Reloader::create(impl->config, impl->registry, impl->connectors, on_user_map,
                                   [gate](const tls::ReloadReport& r) { gate->record_reload(r); });
  if (!reloader) return util::fail(reloader.error());
  impl->reloader = std::move(*reloader);
  // Everything but the connections is open now.
  auto open = util::count_open_fds().value_or(
      fd_headroom(config.connectors.size(), worker_count(config.server)));
  impl->fds = FdBudget(limit, open);
  if (limit != util::kNoFdLimit) {
    spdlog::info("file descriptors: limit {} (RLIMIT_NOFILE), {} open: room for {} connections",
                 limit, open, impl->fds.max_sessions());
  }
  return std::unique_ptr<Gate>(new Gate(std::move(impl)));
}

const std::vector<std::unique_ptr<ConnectorRuntime>>& Gate::connectors() const {
  return impl_->connectors;
}

void Gate::close_peers(const std::string& scope, tls::Side side,
                       std::function<bool(const X509& leaf)> matches, std::string reason) {
  impl_->close_peers(scope, side, std::move(matches), std::move(reason));
}

void Gate::Impl::close_peers(const std::string& scope, tls::Side side,
                             std::function<bool(const X509& leaf)> matches, std::string reason) {
  on_every_worker([scope, side, matches = PeerMatch(std::move(matches)),
                   reason = std::move(reason)](SessionTable& t) {
    t.close_peers(scope, side, matches, reason);
  });
}

// An OCSP answer that a peer is revoked closes its established connections
// in every policy that checks revocation (the engine's thread calls this).
void Gate::Impl::close_revoked(const std::string& fingerprint, const std::string& detail) {
  for (const auto& [scope, policy] : config.policies) {
    if (policy.revocation_checks == config::RevocationChecks::kNone) continue;
    for (auto side : {tls::Side::kServer, tls::Side::kClient}) {
      close_peers(
          scope, side,
          [fingerprint](const X509& leaf) { return pki::fingerprint_sha256(&leaf) == fingerprint; },
          detail);
    }
  }
}

void Gate::reload() {
  asio::post(impl_->control, [this] { impl_->reload_config(); });
}

void Gate::reload(std::function<void(ReloadOutcome)> done) {
  asio::post(impl_->control, [this, done = std::move(done)] { done(impl_->reload_config()); });
}

void Gate::reload_policy(std::string scope, std::function<void(ReloadOutcome)> done) {
  asio::post(impl_->control, [this, scope = std::move(scope), done = std::move(done)] {
    done(impl_->reloader->reload_policy(scope));
  });
}

const config::Config& Gate::config() const { return impl_->config; }

boost::asio::io_context& Gate::control_loop() { return impl_->control; }

std::shared_ptr<util::Versioned<tls::Context>> Gate::admin_context() const { return impl_->admin; }

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

void Gate::stop() {
  asio::post(impl_->control, [this] { impl_->begin_drain(); });
}

int Gate::run() {
  auto& s = *impl_;
  // Sockets are written with send(2) and MSG_NOSIGNAL (net/stream.cc). The
  // log is not: stderr on a pipe whose reader went away (a restarted log
  // collector) must cost a log line, not the gate.
  ::signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < s.connectors.size(); ++i) {
    auto& c = *s.connectors[i];
    const auto& cs = c.settings;
    std::string tls = "plaintext";
    if (c.client_side) {
      const auto& p = c.client_side->get()->policy;
      tls = fmt::format("policy {} ({}, client_auth {})", p.scope, util::join(p.tls_versions, ","),
                        config::to_string(p.client_auth));
    }
    spdlog::info("connector {}: listening on {} -> {}{}, {}, protocol {}, tls_level {}", cs.name,
                 config::to_string(cs.listen_address), config::to_string(cs.upstream_address),
                 cs.upstream_ssl_policy ? " (TLS, policy " + *cs.upstream_ssl_policy + ")" : "",
                 tls, config::to_string(cs.protocol), config::to_string(cs.tls_level));
    for (auto& w : s.workers) s.accept(*w, *w->acceptors[i], w->peers[i], c);
  }
  std::function<void()> on_signal;
  if (s.signals) {
    on_signal = [this, &on_signal] {
      impl_->signals->async_wait([this, &on_signal](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          spdlog::info("received SIGHUP: reloading {}", impl_->config.file.string());
          impl_->reload_config();
          on_signal();
          return;
        }
        spdlog::info("received {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        impl_->begin_drain();
      });
    };
    on_signal();
  }
  auto guard = asio::make_work_guard(s.control);
  auto rotation = std::make_shared<asio::steady_timer>(s.control);
  s.schedule_ticket_rotation(rotation);
  s.schedule_memory_check(std::make_shared<asio::steady_timer>(s.control));
  s.schedule_crl_check(std::make_shared<asio::steady_timer>(s.control));
  s.schedule_failure_minute(std::make_shared<asio::system_timer>(s.control));
  for (auto& w : s.workers) {
    w->thread = std::thread([&w] { w->loop.run(); });
  }
  spdlog::info("tlsgate serving {} connector(s) on {} worker thread(s)", s.connectors.size(),
               s.workers.size());
  s.control.run();
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  return s.drain_result;
}

}  // namespace tlsgate::net
