// Session: one client connection proxied to the backend.
//
// Phases: detect (tls_level OPTIONAL/REQUIRED peek at the first byte), TLS
// handshake with the client under handshake_timeout, peer checks (pins,
// identities), connect to the backend (and its TLS handshake), optional
// PROXY v2 header, then a pump in each direction with one bounded buffer
// each: a direction stops reading while its buffer is not yet written out,
// so a slow side throttles the fast one (back-pressure). EOF (close_notify or
// FIN) on one side half-closes the other; the session ends when both
// directions are done, on an error, on the idle timeout or at shutdown.
// A Session lives on one event loop thread and keeps itself alive through
// shared_from_this() while an operation is pending.
//
// Re-validation (session_revalidate.cc): given its worker's SessionTable
// (track_in), a session lists itself there once a peer passed its checks and
// leaves it when it ends; the table asks it to check again when its
// policies, its user_map or its peer's certificate change (revalidate()).
//
// Counting (count_in): the session adds to its worker's ConnectorCounters
// (net/worker_counters.h) — each completed client handshake, each failure
// under its tls::FailureReason (the same word ends its log line, " [reason:
// unknown_ca]"), bytes per read and write of the pump — and lists itself in
// its worker's LiveSessions once established, for Gate::connections().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/block_pool.h"
#include "net/connector_runtime.h"
#include "net/gate_status.h"
#include "net/ocsp_engine.h"
#include "net/ready_wait.h"
#include "net/session_table.h"
#include "net/starttls/mysql.h"
#include "net/starttls/mysql_commands.h"
#include "net/starttls/nats.h"
#include "net/starttls/postgres.h"
#include "net/stream.h"
#include "net/turn_queue.h"
#include "net/worker_counters.h"
#include "tls/failure_reason.h"
#include "tls/peer_identity.h"
#include "util/clock.h"

namespace tlsgate::net {

class Session;
// One worker's established sessions (relaying both ways), by id: what
// Gate::connections() lists and close_connection() finds. Worker thread only.
using LiveSessions = std::map<uint64_t, Session*>;

class Session final : public std::enable_shared_from_this<Session>, public TrackedSession {
 public:
  // `peer`: the client's address, as accept(2) reported it. `fd_limit`: the
  // RLIMIT_NOFILE the gate admits under (FdBudget::limit()), for the log line
  // when the backend's socket finds no descriptor.
  Session(boost::asio::io_context& loop, ConnectorRuntime& connector,
          boost::asio::ip::tcp::socket client, const boost::asio::ip::tcp::endpoint& peer,
          uint64_t fd_limit);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Ends the session now (shutdown deadline passed).
  void abort();
  // The worker's table this session lists itself in once established
  // (null: none); set before start().
  void track_in(SessionTable* table) { sessions_ = table; }
  // The worker's queue for bulk turns and first handshake steps
  // (net/turn_queue.h); null: each turn is posted to the loop, and a
  // handshake starts at once. Set before start().
  void take_turns_in(TurnQueue* turns) { turns_ = turns; }
  // The worker's counters of this session's connector, and its list of
  // established sessions (null: none); set before start().
  void count_in(ConnectorCounters& counters, LiveSessions* live) {
    counters_ = &counters;
    live_ = live;
  }
  void revalidate(const Revalidation& what) override;

  // Unique in the process, never reused (taken at construction).
  uint64_t id() const { return id_; }
  // For Gate::connections(); on the session's thread.
  ConnectionInfo info() const;
  // Closes both sides at the admin's request, one log line naming `who`.
  void close_by(const std::string& who);

 private:
  static constexpr size_t kBufferSize = size_t{64} * 1024;
  static_assert(kBufferSize <= kBlockBytes);
  // Bytes a direction moves before it lets other handlers of its loop run.
  static constexpr size_t kTurnBytes = kBufferSize;
  // Longest wait for a revocation answer (less when handshake_timeout is).
  static constexpr std::chrono::seconds kRevocationWait{5};

  struct Direction {
    Stream* from = nullptr;
    Stream* to = nullptr;
    // Taken when the direction reads and given back when it drains and
    // waits: an idle connection holds no buffer (bench: idle RSS per
    // connection).
    Block buffer;
    size_t begin = 0;
    size_t end = 0;
    bool eof = false;      // `from` has no more data
    bool done = false;     // eof seen and everything written, `to` half-closed
    bool waiting = false;  // an async wait is pending for this direction
    bool drained = false;  // the last read, in this handler, left `from` empty
    const char* name = "";
    // protocol=nats: what is read goes through nats_filter(). Backend->
    // client (`rewrites`): the session's NatsServerStream writes into `text`,
    // which is what gets written. Client->backend with a user_map: its
    // NatsClientStream follows the bytes, which pass as they were read.
    bool filtered = false;
    bool rewrites = false;
    std::string text;
    char* data() { return rewrites ? text.data() : buffer.get(); }
  };

  void detect();
  void on_detected(unsigned char first_byte);
  // protocol=postgres (session_postgres.cc)
  void negotiate_postgres();
  bool send_to_client(const std::string& bytes);
  void postgres_upstream_request();
  void postgres_upstream_answer();
  // protocol=mysql (session_mysql.cc)
  void mysql_apply(starttls::MysqlStep step);
  void mysql_flush();
  void mysql_act();
  void mysql_read(bool from_client);
  void mysql_read_client() { mysql_read(true); }
  void mysql_read_backend() { mysql_read(false); }
  std::string user_refusal(std::string_view user);
  // With a user_map, each read from the client while relaying: false when a
  // COM_CHANGE_USER was refused (the session is closed, `bytes` not sent).
  bool mysql_follow(std::string_view bytes);
  // protocol=nats (session_nats.cc)
  void start_nats();
  void nats_apply(starttls::NatsStep step);
  void nats_flush();
  void nats_act();
  void nats_read(bool from_client);
  void nats_read_client() { nats_read(true); }
  void nats_read_backend() { nats_read(false); }
  void nats_peek();
  void nats_peeked(std::optional<unsigned char> byte);
  void nats_relay();
  bool nats_filter(Direction& d, size_t bytes);
  void start_client_tls();
  void fail_tls_setup(bool upstream);
  void client_handshake();
  void on_client_ready();
  void on_client_checked();
  void check_revocation(bool client, void (Session::*then)());
  // What the OCSP engine is asked about the peer on the client (or backend) side.
  PeerQuery revocation_query(bool client, const tls::Context& ctx);
  // session_revalidate.cc: an established peer that passed its re-check
  // under `ctx` is put under the OCSP engine's watch when `ctx` checks
  // revocation and it was let in without (revocation_checks turned on by a
  // reload); a revoked answer closes it.
  void watch_revocation(tls::Side side, const tls::Context& ctx);
  void on_revocation(uint32_t seq, const PeerStatus& status);
  void on_upstream_checked();
  void connect_upstream();
  void connect_directly(const boost::asio::ip::tcp::endpoint& to,
                        std::function<void(const boost::system::error_code&)> then);
  void on_upstream_connected();
  // Answers the client in its protocol and ends the session; `count`: as an
  // upstream failure (not when the fault is the gate's, as with EMFILE).
  void fail_upstream(tls::FailureReason why, const std::string& reason, bool count = true);
  // A client refused before it was established (handshake, peer checks,
  // plaintext, user_map, revocation, timeout), or a user change user_map
  // refuses later (MySQL COM_CHANGE_USER, a second NATS CONNECT): counted
  // under `why`, logged with it.
  void refuse_client(tls::FailureReason why, const std::string& reason);
  // The backend failed: counted under `why` (when `count`), logged with it;
  // the client gets no message in its protocol (fail_upstream() sends one).
  void fail_backend(tls::FailureReason why, const std::string& reason, bool count = true);
  void start_upstream_tls();
  void upstream_handshake();
  void on_upstream_ready();
  std::string proxy_header();
  void send_preamble();
  void pump(Direction& d);
  boost::asio::ip::tcp::socket& socket_of(const Stream& s) {
    return &s == &client_ ? client_socket_ : upstream_socket_;
  }
  void wait(Stream& s, Io want, void (Session::*then)());
  void wait_direction(Direction& d, Stream& s, Io want);
  void yield_direction(Direction& d);
  void fail_io(Stream& s, const Direction& d);
  // `what` must be done within the handshake_timeout of `policy`'s policy
  // (null: the connector's default), or the session ends, naming that key.
  // `upstream`: a backend phase (its timeout is an upstream failure).
  void arm_deadline(const tls::Context* policy, std::string what, bool upstream = false);
  void arm_idle();
  // Ends the session as failed for `why`, logged with it: at info
  // (rate-limited per connector), a backend's at warning: one client's
  // mistake is routine, a backend that fails is an outage an operator at
  // log_level=warn must see.
  void fail(tls::FailureReason why, const std::string& text, bool backend = false);
  // Ends the session; `reason` is logged at debug (fail() logs failures).
  void finish(const std::string& reason);
  // Closes both sides and leaves the tables; true when it was still open.
  bool close_all();
  // Logs "connector C: client P: TEXT" (with `note`: "client P (NOTE):
  // TEXT"); a JSON record also carries the connector, the client, the
  // verified identity and the failure's reason as fields (util/log_fields.h).
  template <typename... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> text,
           Args&&... args) const {
    if (spdlog::should_log(level)) log_text(level, fmt::format(text, std::forward<Args>(args)...));
  }
  void log_text(spdlog::level::level_enum level, std::string_view text,
                std::string_view note = {}) const;
  // `identity "X"` or "no client certificate": whom a closing line names.
  std::string closing_note() const;
  // session_revalidate.cc: lists the session once the peer on `side` passed
  // its checks; false when a context published meanwhile refused it (closed).
  bool on_peer_checked(tls::Side side);
  // `kind`: what a closing is counted as (kExpired for the expiry timer).
  bool recheck(tls::Side side, std::string_view trigger,
               RevalidationClose kind = RevalidationClose::kPolicyChanged);
  void close_revalidated(RevalidationClose kind, const std::string& why);

  ConnectorRuntime& connector_;
  const uint64_t fd_limit_;
  // Each socket before its Stream, which works on the socket's fd.
  boost::asio::ip::tcp::socket client_socket_;
  Stream client_;
  boost::asio::ip::tcp::socket upstream_socket_;
  std::optional<Stream> upstream_;                  // once upstream_socket_ is connected
  std::shared_ptr<const tls::Context> client_ctx_;  // snapshot taken at accept
  std::shared_ptr<const tls::Context> upstream_ctx_;
  ReadyWaiter waiter_;  // every wait for readiness of either socket
  boost::asio::steady_timer timer_;
  std::optional<boost::asio::ip::tcp::resolver> resolver_;  // only for a backend host name
  tls::PeerIdentity identity_;
  std::string peer_;  // "ip:port" of the client
  // The PROXY v2 header went out already (mysql and nats send it before
  // the backend's first bytes, ahead of the negotiation).
  bool proxy_header_sent_ = false;
  std::string preamble_;  // bytes to send to the backend first (PROXY header)
  size_t preamble_sent_ = 0;
  std::string pending_;  // client bytes read during negotiation, for the backend after the preamble
  bool cancel_only_ = false;  // a CancelRequest: close once it is delivered
  std::unique_ptr<starttls::PostgresNegotiation> postgres_;
  std::unique_ptr<starttls::MysqlNegotiation> mysql_;
  starttls::MysqlStep mysql_step_;  // what is being sent now, and what comes after
  // protocol=mysql with a user_map, once relaying (session_mysql.cc).
  struct MysqlRelay {
    starttls::MysqlCommandFollower commands;  // finds each COM_CHANGE_USER
    // Users before the latest allowed change (db_user_): a change the
    // backend refuses leaves the session as one of them, so a user_map
    // reload checks them too. Distinct, at most kMaxMysqlEarlierUsers.
    std::vector<std::string> earlier_users;
  };
  static constexpr size_t kMaxMysqlEarlierUsers = 16;
  std::unique_ptr<MysqlRelay> mysql_relay_;
  // protocol=nats only (session_nats.cc): other sessions pay one pointer.
  struct Nats {
    Nats(starttls::NatsOptions options, boost::asio::any_io_executor ex)
        : negotiation(std::move(options)), window(std::move(ex)) {}
    starttls::NatsNegotiation negotiation;
    starttls::NatsStep step;                            // as mysql_step_
    std::unique_ptr<starttls::NatsServerStream> down;   // the relay's server side
    std::unique_ptr<starttls::NatsClientStream> up;     // its client side, with a user_map
    boost::asio::steady_timer window;                   // ends the TLS-first window
    std::chrono::steady_clock::time_point accepted_at;  // the window starts here
    uint32_t peek_seq = 0;                              // which peek a wake-up belongs to
  };
  std::unique_ptr<Nats> nats_;
  Direction up_;    // client -> backend
  Direction down_;  // backend -> client
  std::chrono::steady_clock::time_point last_activity_;
  void (Session::*revocation_then_)() = nullptr;  // while a revocation check is pending
  bool revocation_client_ = false;                // ... of the client (else of the backend)
  uint32_t revocation_seq_ = 0;                   // which check an answer belongs to
  PeerHold client_hold_, upstream_hold_;          // keep the OCSP engine asking about the peers
  bool closed_ = false;
  std::optional<tls::FailureReason> failure_;  // why the session failed, once it has
  SessionTable* sessions_ = nullptr;           // the worker's, for re-validation
  TurnQueue* turns_ = nullptr;                 // the worker's, for bulk turns and handshakes
  bool client_checked_ = false;                // the client passed its peer checks
  bool upstream_checked_ = false;              // the backend passed its peer checks
  std::optional<std::string> db_user_;         // the database user user_map admitted
  bool user_refused_ = false;                  // user_map refused the database user
  // The worker's (count_in); else a shared sink that nothing reads.
  ConnectorCounters* counters_;
  LiveSessions* live_ = nullptr;
  const uint64_t id_;
  bool live_listed_ = false;  // in *live_ (established)
  util::SystemTime since_{};  // when it was established
  uint64_t bytes_from_client_ = 0, bytes_to_client_ = 0;
};

}  // namespace tlsgate::net
