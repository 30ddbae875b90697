#include "net/gate.h"

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "net/block_pool.h"
#include "net/gate_impl.h"
#include "net/listen_failure.h"
#include "net/listen_fds.h"
#include "net/stream.h"
#include "pki/certificate_info.h"
#include "pki/served_validity.h"
#include "util/fd_limit.h"
#include "util/strings.h"

namespace tlsgate::net {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

namespace {

// How long create() waits for first OCSP staples before the ports open.
constexpr std::chrono::seconds kFirstStapleWait{2};

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

// Whether `endpoint` is free to listen on, by binding a probe socket to it
// WITHOUT SO_REUSEPORT (with SO_REUSEADDR, as the real listeners, so that
// connections of an earlier run in TIME_WAIT do not block). The workers'
// listeners share the port with SO_REUSEPORT to spread the accepts, and the
// kernel lets any socket of the same user that sets SO_REUSEPORT join such a
// group: a second gate (a stale process, a second unit, a test config left
// running) would silently take a share of the clients, with its own and
// perhaps weaker policy. Linux refuses this probe's bind with EADDRINUSE
// while any socket listens on the address (a wildcard one included), so a
// second gate stops with an error instead. A process of the same user that
// sets SO_REUSEPORT itself on purpose could still join; that takes that
// user's rights, which could replace the gate anyway. The probe is closed
// before the real listeners bind. Returns 0 or the errno.
int probe_address_free(const tcp::endpoint& endpoint) {
  asio::io_context io;
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  return ec ? ec.value() : 0;
}

// Within this many days of its end, a served certificate is worth a warning
// at start (as `check` warns).
constexpr long kExpiryWarningDays = 30;

// A served certificate that every client refuses (expired, not yet valid)
// would otherwise first show as each client's failed handshake: said once
// at start, per policy, with the file and what to do. ACME policies renew
// by themselves, so their coming expiry is left to the ACME log.
void warn_about_served_certificates(
    const std::map<tls::ContextRegistry::Key, tls::ContextRegistry::Entry>& entries) {
  for (const auto& [key, entry] : entries) {
    if (key.second != tls::Side::kServer || !entry) continue;
    auto context = entry->get();
    if (!context || !context->certificate) continue;
    const auto& info = *context->certificate;
    const auto& policy = context->policy;
    auto notice = pki::served_validity(info, kExpiryWarningDays);
    if (!notice || (!notice->refused && policy.acme())) continue;
    std::string fix = notice->fix;
    if (!info.not_yet_valid) {
      fix += fmt::format(" (tlsgate cert install --scope {} --cert CERT --key KEY)", policy.scope);
    }
    spdlog::warn("ssl.policy.{} serves {} (serial {}) in {} {}; {}", policy.scope, info.subject,
                 info.serial_hex, policy.public_certificate.string(), notice->problem, fix);
  }
}

}  // namespace

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
  const auto& cl = config.cluster;
  if (cl.enabled && !cl.ssl_policy.empty() &&
      std::any_of(cl.etcd_endpoints.begin(), cl.etcd_endpoints.end(),
                  [](const std::string& e) { return e.starts_with("https://"); })) {
    auto side = acquire(cl.ssl_policy, tls::Side::kClient);
    if (!side) return util::fail(side.error().prefixed("cluster.ssl_policy"));
    cluster_link = *side;
    entries[{cl.ssl_policy, tls::Side::kClient}] = cluster_link;
  }
  return {};
}

util::Status Gate::Impl::bind_all() {
  unsigned threads = worker_count(config.server);
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(connectors.size()));
  }
  // Sockets systemd bound for us (tlsgate.socket): used as they are.
  auto inherited = InheritedSockets::from_environment();
  for (auto& c : connectors) {
    auto where = "connector." + c->settings.name + ".listen_address";
    auto endpoint = resolve_listen(c->settings.listen_address);
    if (!endpoint) return util::fail(endpoint.error().prefixed(where));
    util::Fd passed = inherited.take(*endpoint);
    if (passed.valid()) {
      spdlog::info("{}: using the listening socket systemd passed (fd {})", where, passed.get());
    }
    c->listener_prepared = true;
    if (!passed.valid()) {
      if (int error = probe_address_free(*endpoint); error != 0) {
        return util::fail(listen_failure(where, c->settings.listen_address, error));
      }
    }
    for (auto& w : workers) {
      auto acceptor = std::make_unique<tcp::acceptor>(w->loop);
      boost::system::error_code ec;
      if (passed.valid()) {
        // One descriptor per worker's acceptor, all on the one socket.
        util::Fd copy(::fcntl(passed.get(), F_DUPFD_CLOEXEC, 0));
        if (!copy.valid()) ec.assign(errno, boost::system::system_category());
        if (!ec) acceptor->assign(endpoint->protocol(), copy.get(), ec);
        if (!ec) copy.release();
      } else {
        acceptor->open(endpoint->protocol(), ec);
        if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor->set_option(ReusePort(true), ec);
        if (!ec) acceptor->bind(*endpoint, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      }
      if (ec) return util::fail(listen_failure(where, c->settings.listen_address, ec.value()));
      if (!Stream::prepare_listener(acceptor->native_handle())) c->listener_prepared = false;
      w->acceptors.push_back(std::move(acceptor));
      w->peers.emplace_back();
    }
  }
  for (const auto& unused : inherited.close_unused()) {
    spdlog::warn("socket activation: {} matches no connector.<name>.listen_address; closed it",
                 unused);
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
        session->take_turns_in(&w.turns);
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
  if (on_event) on_event(GateEvent::kStopping);
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
    if (trimmer.spike_over(open)) release_heap(peak, open);
    schedule_memory_check(timer);
  });
}

// Each worker frees the blocks it keeps; once the last has, the heap is
// trimmed here (kept blocks would pin their pages).
void Gate::Impl::release_heap(uint64_t peak, uint64_t open) {
  auto trim = [peak, open] {
    auto start = std::chrono::steady_clock::now();
    uint64_t freed = MemoryTrimmer::trim();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    spdlog::info(
        "memory: {} connections at the peak, {} now: {} MiB of freed heap returned to "
        "the system in {:.1f} ms",
        peak, open, freed >> 20, took.count());
  };
  if (workers.empty()) return trim();
  auto left = std::make_shared<std::atomic<size_t>>(workers.size());
  on_every_worker([this, left, trim](SessionTable&) {
    free_kept_blocks();
    if (left->fetch_sub(1) == 1) asio::post(control, trim);
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
  // The descriptor table holds what max_connections may need from the start:
  // grown under a first burst of clients, it stops every worker for an RCU
  // grace period at each doubling (util::reserve_fd_slots).
  if (auto st = util::reserve_fd_slots(std::min(fds_needed(config), kFdTableSlotsAtStart)); !st) {
    spdlog::warn("{}; it grows as clients come instead", st.error().message());
  }
  auto tickets = tls::TicketKeys::create();
  if (!tickets) return util::fail(tickets.error());
  auto impl = std::make_unique<Impl>(config, options, std::move(*tickets));
  if (options.handle_signals) {
    impl->signals = std::make_unique<asio::signal_set>(impl->control, SIGINT, SIGTERM, SIGHUP);
  }
  if (auto st = impl->build_contexts(); !st) return util::fail(st.error());
  warn_about_served_certificates(impl->entries);
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
// in every policy that checks revocation now, as the last reload left the
// policies (the engine's thread calls this).
void Gate::Impl::close_revoked(const std::string& fingerprint, const std::string& detail) {
  for (const auto& policy : registry.policies()) {
    if (policy.revocation_checks == config::RevocationChecks::kNone) continue;
    for (auto side : {tls::Side::kServer, tls::Side::kClient}) {
      close_peers(
          policy.scope, side,
          [fingerprint](const X509& leaf) { return pki::fingerprint_sha256(&leaf) == fingerprint; },
          detail);
    }
  }
}

void Gate::reload() {
  asio::post(impl_->control, [this] { impl_->reload_config(); });
}

const config::Config& Gate::config() const { return impl_->config; }

boost::asio::io_context& Gate::control_loop() { return impl_->control; }

std::shared_ptr<util::Versioned<tls::Context>> Gate::admin_context() const { return impl_->admin; }

tls::ContextRegistry::Subscription Gate::subscribe_reloads(
    tls::ContextRegistry::ReloadObserver on_reload) {
  return impl_->registry.subscribe(std::move(on_reload));
}

std::shared_ptr<util::Versioned<tls::Context>> Gate::cluster_context() const {
  return impl_->cluster_link;
}

util::Status Gate::reload_policy_and_wait(const std::string& scope, std::chrono::seconds timeout) {
  auto promise = std::make_shared<std::promise<ReloadOutcome>>();
  auto outcome = promise->get_future();
  reload_policy(scope, [promise](ReloadOutcome o) { promise->set_value(std::move(o)); });
  if (outcome.wait_for(timeout) != std::future_status::ready) {
    return util::fail(
        fmt::format("the gate did not reload policy {} within {} s", scope, timeout.count()));
  }
  for (const auto& r : outcome.get().reports) {
    if (r.scope == scope && !r.ok) return util::fail(r.error);
  }
  return {};
}

std::shared_ptr<tls::AcmeChallengeStore> Gate::acme_challenges() const {
  return impl_->acme_challenges;
}

void Gate::on_event(std::function<void(GateEvent)> handler) {
  impl_->on_event = std::move(handler);
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
          const auto& notify = impl_->on_event;
          if (notify) notify(GateEvent::kReloading);
          impl_->reload_config();
          if (notify) notify(GateEvent::kReloaded);
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
  if (s.on_event) s.on_event(GateEvent::kServing);
  s.control.run();
  for (auto& w : s.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  return s.drain_result;
}

}  // namespace tlsgate::net
