#include "admin/admin_server.h"

#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "admin/access.h"
#include "admin/api.h"
#include "net/endpoint_text.h"
#include "net/gate.h"
#include "net/listen_failure.h"
#include "tls/failure_classifier.h"
#include "tls/handshake_error.h"
#include "tls/peer_identity.h"
#include "tls/revalidate.h"
#include "util/peer_text.h"

namespace tlsgate::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class GateBackend final : public Backend {
 public:
  GateBackend(net::Gate& gate, std::string version) : gate_(gate), version_(std::move(version)) {}
  net::GateStatus status() const override {
    auto s = gate_.status();
    if (!version_.empty()) s.version = version_;
    return s;
  }
  void connections(std::string connector, size_t limit,
                   std::function<void(std::vector<net::ConnectionInfo>)> done) override {
    gate_.connections(std::move(connector), limit, std::move(done));
  }
  void close_connection(uint64_t id, std::string who, std::function<void(bool)> done) override {
    gate_.close_connection(id, std::move(who), std::move(done));
  }
  void reload(std::function<void(net::ReloadOutcome)> done) override {
    gate_.reload(std::move(done));
  }
  void reload_policy(std::string scope, std::function<void(net::ReloadOutcome)> done) override {
    gate_.reload_policy(std::move(scope), std::move(done));
  }

 private:
  net::Gate& gate_;
  std::string version_;
};

// An HTTPS session the reload watch re-checks (control loop only).
class Recheckable {
 public:
  // After the admin context was republished: the peer is checked against the
  // new one, and the connection closed when it would now be refused.
  virtual void recheck_after_reload() = 0;
  virtual ~Recheckable() = default;
};
struct PlainSession {};  // the metrics listener's: nothing to re-check

}  // namespace

// What every session shares; held by shared_ptr so a handler that outlives
// the AdminServer (destroyed with the loop's queue) finds it alive.
struct Shared {
  Shared(net::Gate& gate, const config::Admin& settings, const AdminServerOptions& options)
      : backend(gate, options.version),
        api(backend, ApiOptions{.version = options.version,
                                .expand_commands = options.expand_commands,
                                .cluster = options.cluster,
                                .acme = options.acme,
                                .admin_policy = settings.ssl_policy,
                                .admin_listen_host = settings.listen_address.host}),
        access(settings),
        limits(options.limits),
        admin_context(gate.admin_context()) {}
  GateBackend backend;
  Api api;
  AccessList access;
  Limits limits;
  std::shared_ptr<util::Versioned<tls::Context>> admin_context;
  size_t active_tls = 0, active_plain = 0;  // control loop only
  uint64_t refused_over_cap = 0;
  // The open HTTPS sessions, by a number of their own (control loop only).
  uint64_t last_session = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Recheckable>> tls_sessions;
};

namespace {

// head: the answer to HEAD, the GET's status and headers (Content-Length
// included) without its body.
// How log lines name the plaintext listener.
constexpr const char* kMetricsListenerName = "admin metrics listener (admin.metrics_address)";

http::response<http::string_body> to_http(ApiResponse r, unsigned version, bool keep_alive,
                                          bool head = false) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy", "default-src 'self'");
  res.set("X-Content-Type-Options", "nosniff");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays the GET's
  return res;
}

// One connection: (TLS handshake,) then requests one after the other.
//
// Revocation on a kept-alive connection (review s22 section 2): the role is
// decided at the handshake, but an admin client may keep its connection for
// as long as it sends a request every idle_timeout. So whenever the admin
// policy's context was republished (a reload: new CRL in revoked/, trusted/,
// certificate, settings) since this connection's peer was last checked, the
// peer's certificate is checked again against the new context, as
// connectors' revalidate_established does (tls::recheck_peer: chain against
// the new store and its CRLs, validity now, allowed_identities, pins), and
// the connection is closed, without an answer, when it would now be refused:
//  - before each request is served (nothing is served under the old check);
//  - for idle kept-alive connections, as soon as the registry tells of the
//    republication (AdminServer::create subscribes).
// A peer that still passes keeps its connection. Admin connections are
// always re-checked, whatever ssl.policy.<admin>.revalidate_established says.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>>,
                public std::conditional_t<kTls, Recheckable, PlainSession> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  // TLS: the context snapshot first, the asio wrapper of its SSL_CTX second,
  // the stream last, so they are destroyed in the reverse order.
  Session(std::shared_ptr<Shared> shared, tcp::socket socket,
          std::shared_ptr<const tls::Context> snapshot)
      : shared_(std::move(shared)),
        snapshot_(std::move(snapshot)),
        ssl_ctx_(make_ssl_ctx()),
        stream_(make_stream(std::move(socket))) {
    beast::error_code ec;
    peer_ = net::endpoint_text(beast::get_lowest_layer(stream_).socket().remote_endpoint(ec));
    ++active();
  }
  ~Session() {
    --active();
    if constexpr (kTls) shared_->tls_sessions.erase(number_);
  }

  void start() {
    if constexpr (kTls) {
      number_ = ++shared_->last_session;
      shared_->tls_sessions.emplace(number_, this->shared_from_this());
      beast::get_lowest_layer(stream_).expires_after(shared_->limits.request_timeout);
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    } else {
      read_next(shared_->limits.request_timeout);
    }
  }

 private:
  size_t& active() { return kTls ? shared_->active_tls : shared_->active_plain; }
  static const char* listener_name() { return kTls ? "admin API" : kMetricsListenerName; }

  std::optional<asio::ssl::context> make_ssl_ctx() {
    if constexpr (!kTls) {
      return std::nullopt;
    } else {
      // asio's context takes ownership of one reference; the Context keeps its own.
      SSL_CTX* raw = snapshot_->ssl_ctx.get();
      SSL_CTX_up_ref(raw);
      return std::optional<asio::ssl::context>(std::in_place, raw);
    }
  }
  // Why the client's handshake failed, in the connectors' words where the
  // certificate is the cause (the verify result outlives the error queue,
  // which Asio has drained into `ec`), and under which reason it counts.
  std::pair<std::string, tls::FailureReason> handshake_failure(const beast::error_code& ec) {
    SSL* ssl = stream_.native_handle();
    const auto& policy = snapshot_->policy;
    const unsigned long error = ec.category() == asio::error::get_ssl_category()
                                    ? static_cast<unsigned long>(ec.value())
                                    : 0;
    auto reason = tls::classify_handshake_failure(ssl, error);
    if (long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) {
      const X509* cert = SSL_get0_peer_certificate(ssl);
      if (cert == nullptr) cert = tls::rejected_peer_certificate(ssl);
      if (cert != nullptr) {
        return {tls::explain_verify_failure(verify, cert, *snapshot_, peer_, nullptr) + " [" +
                    ec.message() + "]",
                reason};
      }
    }
    if (SSL_get0_peer_certificate(ssl) == nullptr &&
        policy.client_auth == config::ClientAuth::kRequire &&
        ERR_GET_REASON(error) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      return {"the client sent no certificate, but ssl.policy." + policy.scope +
                  ".client_auth is REQUIRE: an operator presents one (curl --cert FILE --key FILE)",
              reason};
    }
    return {ec.message(), reason};
  }

  // Counts a refused client for /metrics and logs why, with the reason.
  void refused(spdlog::level::level_enum level, const std::string& why, tls::FailureReason reason) {
    ++shared_->api.listener_counts().handshake_failures[static_cast<size_t>(reason)];
    spdlog::log(level, "admin API: {}", tls::with_reason(why, reason));
  }

  Stream make_stream(tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(beast::tcp_stream(std::move(socket)), *ssl_ctx_);
    } else {
      return Stream(std::move(socket));
    }
  }

  void on_handshake(beast::error_code ec) {
    if constexpr (kTls) {
      if (ec) {
        auto [why, reason] = handshake_failure(ec);
        return refused(spdlog::level::info, "TLS handshake with " + peer_ + " failed: " + why,
                       reason);
      }
      SSL* ssl = stream_.native_handle();
      // A resumed session skips the handshake's verification: its chain,
      // trust and CRLs are checked again against the context now served, as
      // connectors do (a ticket saved before a CRL revoked the certificate
      // kept full admin access; review s23, security finding 1).
      if (SSL_session_reused(ssl) == 1 && SSL_get0_peer_certificate(ssl) != nullptr) {
        auto again = tls::recheck_peer(tls::connected_peer(ssl, peer_), *snapshot_,
                                       std::chrono::system_clock::now(), snapshot_.get());
        if (!again) {
          refused(spdlog::level::warn,
                  "client " + peer_ + " refused: resumed TLS session: " + again.error().message(),
                  tls::classify_recheck_failure(again.error().message()));
          return close();
        }
      }
      auto peer = tls::check_peer(ssl, *snapshot_);
      if (!peer) {
        refused(spdlog::level::warn, "client " + peer_ + " refused: " + peer.error().message(),
                tls::classify_peer_refusal(SSL_get0_peer_certificate(ssl), *snapshot_));
        return close();
      }
      identity_ = peer->identity;
      role_ = shared_->access.role_of(identity_);
      checked_ = snapshot_;
      // A reload during the handshake: checked against the new context now.
      if (!still_admitted("during its handshake")) return;
      read_next(shared_->limits.request_timeout);
    }
  }

 public:
  void recheck_after_reload() /* Recheckable */ { still_admitted("while it was open"); }

 private:
  // True when the connection may go on serving: its peer was checked against
  // the admin context published now, or passes it now (then its identity
  // and role follow the new context). Else it is closed and logged.
  bool still_admitted(std::string_view when) {
    if constexpr (!kTls) {
      return true;
    } else {
      if (!checked_ || closed_) return !closed_;  // no handshake yet: check_peer comes first
      auto current = shared_->admin_context->get();
      if (current == checked_) return true;
      auto peer = tls::connected_peer(stream_.native_handle(), peer_);
      auto again =
          tls::recheck_peer(peer, *current, std::chrono::system_clock::now(), snapshot_.get());
      if (!again) {
        spdlog::warn(
            "admin API: client {} (identity {}): connection closed: ssl.policy.{} was reloaded "
            "{} and now refuses it: {}",
            peer_, util::quoted_peer_text(identity_), current->policy.scope, when,
            again.error().message());
        close();
        return false;
      }
      checked_ = std::move(current);
      identity_ = again->identity;
      role_ = shared_->access.role_of(identity_);
      return true;
    }
  }

  void read_next(std::chrono::milliseconds deadline) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->limits.header_bytes));
    parser_->body_limit(shared_->limits.body_bytes);
    beast::get_lowest_layer(stream_).expires_after(deadline);
    // Headers first, so the body gets the request's deadline.
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (!still_admitted("since its last request")) return;
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code e, size_t) { self->on_read(e); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    // A request we will not serve gets one answer, then the connection ends.
    unsigned status = 400;
    std::string what = "the request is not HTTP/1.1 this server can read (" + ec.message() + ")";
    std::string fix = "send a well-formed HTTP/1.1 request";
    if (ec == http::error::header_limit) {
      status = 431;
      what =
          "the request's headers exceed " + std::to_string(shared_->limits.header_bytes) + " bytes";
      fix = "send shorter headers";
    } else if (ec == http::error::body_limit) {
      status = 413;
      what = "the request's body exceeds " + std::to_string(shared_->limits.body_bytes) + " bytes";
      fix = "send a body of at most 1 MiB";
    }
    spdlog::info("{}: client {}: {}", listener_name(), peer_, what);
    respond(error_response(status, what, fix), 11, false);
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    ApiRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = std::move(req.body());
    r.identity = identity_;
    r.role = role_;
    r.peer = peer_;
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    shared_->api.handle(
        r, kTls ? Listener::kAdmin : Listener::kMetrics,
        [self = this->shared_from_this(), version, keep_alive, head](ApiResponse res) {
          self->respond(std::move(res), version, keep_alive, head);
        });
  }

  void respond(ApiResponse r, unsigned version, bool keep_alive, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        to_http(std::move(r), version, keep_alive, head));
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.request_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!res->keep_alive()) return self->close();
                        self->read_next(self->shared_->limits.idle_timeout);
                      });
  }

  void close() {
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<const tls::Context> snapshot_;
  std::optional<asio::ssl::context> ssl_ctx_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  std::string identity_;
  Role role_ = Role::kNone;
  // TLS: the admin context the peer was last checked against (null before
  // the handshake), and this session's number in shared_->tls_sessions.
  std::shared_ptr<const tls::Context> checked_;
  uint64_t number_ = 0;
  bool closed_ = false;
};

// Re-checks every open TLS session against the admin context now published
// (those whose peer it would refuse are closed).
void recheck_open_sessions(Shared& shared) {
  // Collected first: a session closed here may leave the map.
  std::vector<std::shared_ptr<Recheckable>> open;
  for (auto& [number, weak] : shared.tls_sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->recheck_after_reload();
}

// Accepts on one address for ever (until closed), one Session per client.
template <bool kTls>
class Acceptor : public std::enable_shared_from_this<Acceptor<kTls>> {
 public:
  Acceptor(asio::io_context& loop, std::shared_ptr<Shared> shared)
      : acceptor_(loop), shared_(std::move(shared)) {}

  util::Status bind(const config::HostPort& where, const std::string& key) {
    beast::error_code ec;
    auto host = where.host.empty() ? std::string("0.0.0.0") : where.host;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(acceptor_.get_executor());
      auto results = resolver.resolve(host, std::to_string(where.port), ec);
      if (ec || results.empty()) {
        return util::fail(key + ": cannot resolve \"" + host + "\": " + ec.message() +
                          "; give an IP address or a name that resolves");
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(address, where.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return util::fail(net::listen_failure(key, where, ec.value()));
    return {};
  }
  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }
  void start() { accept(); }
  void close() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  void accept() {
    acceptor_.async_accept(
        [self = this->shared_from_this()](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
          if (!ec) self->on_accept(std::move(socket));
          self->accept();
        });
  }

  void on_accept(tcp::socket socket) {
    size_t active = kTls ? shared_->active_tls : shared_->active_plain;
    if (active >= shared_->limits.max_connections) {
      // Over the cap: closed at once, before any byte is read.
      if (shared_->refused_over_cap++ % 1000 == 0) {
        spdlog::warn("{}: {} connections open, the most allowed; closing new ones at once",
                     kTls ? "admin API" : kMetricsListenerName, active);
      }
      beast::error_code ec;
      socket.close(ec);
      return;
    }
    std::shared_ptr<const tls::Context> snapshot;
    if constexpr (kTls) {
      snapshot = shared_->admin_context->get();
      // asio::ssl::context's destructor deletes what it finds in the
      // SSL_CTX's app data and password-callback user data as its own; the
      // tls layer sets neither, and a context that had them is not wrapped.
      SSL_CTX* raw = snapshot->ssl_ctx.get();
      if (SSL_CTX_get_app_data(raw) != nullptr ||
          SSL_CTX_get_default_passwd_cb_userdata(raw) != nullptr) {
        beast::error_code ec;
        spdlog::error(
            "admin API: the admin policy's SSL_CTX carries app data or a password callback, "
            "which the HTTPS wrapper would free; connection from {} closed",
            net::endpoint_text(socket.remote_endpoint(ec)));
        socket.close(ec);
        return;
      }
    }
    std::make_shared<Session<kTls>>(shared_, std::move(socket), std::move(snapshot))->start();
  }

  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

struct AdminServer::Impl {
  std::shared_ptr<Shared> shared;
  std::shared_ptr<Acceptor<true>> https;
  std::shared_ptr<Acceptor<false>> metrics;
  // The admin policy's republications, for idle kept-alive sessions.
  tls::ContextRegistry::Subscription admin_reloads;
};

util::Result<std::unique_ptr<AdminServer>> AdminServer::create(net::Gate& gate,
                                                               const config::Admin& settings,
                                                               const AdminServerOptions& options) {
  if (!gate.admin_context()) {
    return util::fail("admin.ssl_policy: the gate built no admin context (is admin.enabled=true?)");
  }
  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_shared<Shared>(gate, settings, options);
  impl->https = std::make_shared<Acceptor<true>>(gate.control_loop(), impl->shared);
  if (auto b = impl->https->bind(settings.listen_address, "admin.listen_address"); !b) {
    return util::fail(b.error());
  }
  if (settings.metrics_address) {
    impl->metrics = std::make_shared<Acceptor<false>>(gate.control_loop(), impl->shared);
    if (auto b = impl->metrics->bind(*settings.metrics_address, "admin.metrics_address"); !b) {
      return util::fail(b.error());
    }
  }
  impl->https->start();
  if (impl->metrics) impl->metrics->start();
  impl->admin_reloads = gate.subscribe_reloads(
      [&loop = gate.control_loop(), shared = std::weak_ptr<Shared>(impl->shared),
       scope = settings.ssl_policy](const tls::ReloadReport& r) {
        if (r.scope != scope || r.side != tls::Side::kServer) return;
        asio::post(loop, [shared] {
          if (auto s = shared.lock()) recheck_open_sessions(*s);
        });
      });
  spdlog::info("admin API listening on {} (https)",
               config::to_string({settings.listen_address.host, impl->https->port()}));
  if (impl->metrics) {
    spdlog::info("admin metrics listening on {} (plaintext /metrics, /healthz)",
                 config::to_string({settings.metrics_address->host, impl->metrics->port()}));
  }
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
  if (impl_->https) impl_->https->close();
  if (impl_->metrics) impl_->metrics->close();
}

uint16_t AdminServer::port() const { return impl_->https->port(); }

std::optional<uint16_t> AdminServer::metrics_port() const {
  if (!impl_->metrics) return std::nullopt;
  return impl_->metrics->port();
}

}  // namespace tlsgate::admin
