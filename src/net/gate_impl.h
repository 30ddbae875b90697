// Gate::Impl and its workers, shared by the files that implement net::Gate:
// gate.cc (start, accept, drain, reloads, timers) and gate_status.cc (what
// the admin layer asks: status(), connections(), reloads that report).
// Private to net/: nothing outside Gate includes it.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "net/fd_budget.h"
#include "net/gate.h"
#include "net/memory_trimmer.h"
#include "net/ocsp_engine.h"
#include "net/reloader.h"
#include "net/session.h"
#include "net/session_table.h"
#include "net/turn_queue.h"
#include "net/worker_counters.h"
#include "tls/context_registry.h"
#include "util/fd.h"
#include "util/mutex.h"

namespace tlsgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Worker {
  explicit Worker(size_t connectors) : counters(connectors) {}
  // Before the loop: sessions its destruction ends still count and unlist.
  WorkerCounters counters;
  LiveSessions live;
  asio::io_context loop{1};
  // Its established sessions; destroyed before the loop (detaching those
  // whose handlers the loop still holds).
  SessionTable sessions{loop};
  // Bulk turns waiting; destroyed before the table and the loop (the
  // sessions its turns hold end then).
  TurnQueue turns{loop};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // Filled by accept(2) for each acceptor's pending accept, so a session
  // knows its peer without a getpeername(2).
  std::deque<tcp::endpoint> peers;
  // Given up when accept(2) finds no descriptor left, to take the waiting
  // client and close it at once (refused, and not reported again and again).
  util::Fd spare{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  std::thread thread;
};

// What status() keeps: the latest reloads, the minutes of failure history.
constexpr size_t kReloadHistory = 100;
constexpr size_t kFailureMinutes = 60;

inline util::SystemTime minute_of(util::SystemTime t) {
  return std::chrono::time_point_cast<std::chrono::minutes>(t);
}

using ReasonTotals = std::array<uint64_t, tls::kFailureReasonCount>;

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
        registry({o.expand_commands, {}, std::move(tickets), ocsp->staples(), acme_challenges},
                 util::SystemClock::instance()) {}
  // The watcher's thread reaches into the registry and the connectors until
  // it is joined: that comes first, also when run() never ran and so never
  // stopped it.
  ~Impl() { reloader.reset(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  config::Config config;  // as started; the Reloader reads this one too
  GateOptions options;
  std::function<void(GateEvent)> on_event;  // Gate::on_event(); control thread
  std::unique_ptr<OcspEngine> ocsp;
  // ACME tls-alpn-01 challenges the listeners answer (the ACME manager
  // publishes them); before the registry, whose contexts point to it.
  std::shared_ptr<tls::AcmeChallengeStore> acme_challenges =
      std::make_shared<tls::AcmeChallengeStore>();
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
  std::shared_ptr<util::Versioned<tls::Context>> admin;         // admin.ssl_policy's, when enabled
  std::shared_ptr<util::Versioned<tls::Context>> cluster_link;  // cluster.ssl_policy's (etcd)
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
  void release_heap(uint64_t peak, uint64_t open);
  // Runs job(table) on every worker's loop, for its own session table.
  void on_every_worker(std::function<void(SessionTable&)> job);
  void close_peers(const std::string& scope, tls::Side side,
                   std::function<bool(const X509& leaf)> matches, std::string reason);
  void close_revoked(const std::string& fingerprint, const std::string& detail);
  void schedule_crl_check(std::shared_ptr<asio::steady_timer> timer);
  int drain_result = 0;
};

}  // namespace tlsgate::net
