#include "net/session.h"

#include <sys/socket.h>

#include <atomic>
#include <utility>

#include <openssl/err.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

#include "net/dial.h"
#include "net/endpoint_text.h"
#include "net/fd_budget.h"
#include "net/proxy_header.h"
#include "pki/openssl_error.h"
#include "tls/failure_classifier.h"
#include "tls/handshake_error.h"
#include "tls/revalidate.h"
#include "tls/server_name.h"
#include "util/log_fields.h"

namespace tlsgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::chrono::steady_clock::duration to_duration(config::Seconds s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(s);
}

// Sessions are numbered in the process, never reusing a number.
std::atomic<uint64_t> next_session_id{1};

// What a session not given its worker's counters counts into (unit tests
// that run a Session alone): nothing reads it.
ConnectorCounters& unattached_counters() {
  static ConnectorCounters sink;
  return sink;
}

TlsVersion version_of(const SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_VERSION:
      return TlsVersion::kTls10;
    case TLS1_1_VERSION:
      return TlsVersion::kTls11;
    case TLS1_2_VERSION:
      return TlsVersion::kTls12;
    case TLS1_3_VERSION:
      return TlsVersion::kTls13;
    default:
      return TlsVersion::kOther;
  }
}

}  // namespace

Session::Session(asio::io_context& loop, ConnectorRuntime& connector, tcp::socket client,
                 const tcp::endpoint& peer, uint64_t fd_limit)
    : connector_(connector),
      fd_limit_(fd_limit),
      client_socket_(std::move(client)),
      client_(client_socket_.native_handle(), connector.listener_prepared),
      upstream_socket_(loop),
      timer_(loop),
      counters_(&unattached_counters()),
      id_(next_session_id.fetch_add(1, std::memory_order_relaxed)) {
  boost::system::error_code ec;
  client_socket_.non_blocking(true, ec);  // accept(2) made it blocking
  mark_own_descriptor(client_socket_, false);
  if (!connector_.listener_prepared) client_.limit_unsent();
  peer_ = endpoint_text(peer);
  connector_.stats.active.fetch_add(1, std::memory_order_relaxed);
  up_.name = "client->backend";
  down_.name = "backend->client";
}

Session::~Session() {
  untrack();
  if (live_listed_) live_->erase(id_);
  connector_.stats.active.fetch_sub(1, std::memory_order_relaxed);
}

void Session::start() {
  if (connector_.client_side) client_ctx_ = connector_.client_side->get();
  if (connector_.upstream_side) upstream_ctx_ = connector_.upstream_side->get();
  last_activity_ = std::chrono::steady_clock::now();
  arm_deadline(client_ctx_.get(), "TLS handshake");
  if (connector_.settings.protocol == config::Protocol::kPostgres) {
    postgres_ = std::make_unique<starttls::PostgresNegotiation>(connector_.settings.tls_level);
    negotiate_postgres();
    return;
  }
  if (connector_.settings.protocol == config::Protocol::kMysql) {
    // MySQL's server speaks first: the backend's greeting starts everything.
    starttls::MysqlOptions options{.level = connector_.settings.tls_level,
                                   .upstream_tls = upstream_ctx_ != nullptr,
                                   .check_user = {}};
    if (connector_.user_map) {
      options.check_user = [this](std::string_view user) { return user_refusal(user); };
    }
    mysql_ = std::make_unique<starttls::MysqlNegotiation>(std::move(options));
    connect_upstream();
    return;
  }
  if (connector_.settings.protocol == config::Protocol::kNats) return start_nats();
  if (connector_.settings.tls_level == config::TlsLevel::kDisabled) {
    connect_upstream();
    return;
  }
  detect();
}

void Session::abort() { finish("closed at shutdown"); }

void Session::detect() {
  unsigned char byte = 0;
  ssize_t n = ::recv(client_.fd(), &byte, 1, MSG_PEEK);
  if (n == 1) {
    on_detected(byte);
  } else if (n == 0) {
    finish("client closed the connection before sending anything");
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    wait(client_, Io::kWantRead, &Session::detect);
  } else {
    refuse_client(tls::FailureReason::kOther,
                  fmt::format("cannot read from client: {}", std::strerror(errno)));  // NOLINT
  }
}

void Session::on_detected(unsigned char first_byte) {
  constexpr unsigned char kTlsHandshakeRecord = 0x16;
  if (first_byte == kTlsHandshakeRecord) {
    // The first step signs: it takes a turn behind established traffic.
    if (turns_ == nullptr) return start_client_tls();
    return turns_->defer([this, self = shared_from_this()] {
      if (!closed_) start_client_tls();
    });
  }
  if (connector_.settings.tls_level == config::TlsLevel::kOptional) {
    connect_upstream();
    return;
  }
  connector_.stats.plaintext_refused.fetch_add(1, std::memory_order_relaxed);
  refuse_client(tls::FailureReason::kPlaintextRefused,
                fmt::format("client spoke plaintext to a TLS-only port "
                            "(connector.{}.tls_level=REQUIRED); closed without a reply",
                            connector_.settings.name));
}

void Session::start_client_tls() {
  pki::clear_openssl_errors();
  tls::SslPtr ssl(SSL_new(client_ctx_->ssl_ctx.get()));
  if (!ssl) return fail_tls_setup(false);
  SSL_set_accept_state(ssl.get());
  if (postgres_) {
    // PostgreSQL 17 clients check for it (sslnegotiation=direct requires it).
    static const std::string kPostgresAlpn = tls::alpn_wire({"postgresql"});
    tls::set_connection_alpn(ssl.get(), kPostgresAlpn);
  }
  if (!client_.attach_tls(std::move(ssl))) return fail_tls_setup(false);
  client_handshake();
}

// OpenSSL could not allocate a session or its BIO: memory is short. The
// connection goes, counted; the gate goes on.
void Session::fail_tls_setup(bool upstream) {
  connector_.stats.tls_setup_failures.fetch_add(1, std::memory_order_relaxed);
  auto reason = pki::openssl_error(upstream ? "cannot set up TLS with the backend (out of memory?)"
                                            : "cannot set up TLS with the client (out of memory?)");
  // Counted as refused at setup (the gate's memory), not as the peer's failure.
  if (upstream) return fail_upstream(tls::FailureReason::kOther, reason.message());
  fail(tls::FailureReason::kOther, reason.message());
}

void Session::client_handshake() {
  auto r = client_.handshake();
  if (r.status == Io::kOk) {
    on_client_ready();
  } else if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
    wait(client_, r.status, &Session::client_handshake);
  } else {
    connector_.stats.handshake_failures.fetch_add(1, std::memory_order_relaxed);
    auto why = tls::classify_handshake_failure(client_.ssl());
    refuse_client(why, tls::explain_handshake_failure(client_.ssl(), *client_ctx_, peer_));
  }
}

void Session::on_client_ready() {
  if (const auto* name = tls::answered_acme_challenge(client_.ssl())) {
    // An ACME CA's tls-alpn-01 check: it saw the challenge certificate in
    // the handshake; nothing of it goes to the backend.
    log(spdlog::level::info, "answered the ACME tls-alpn-01 check for {}", *name);
    return finish("ACME tls-alpn-01 check answered");
  }
  auto checked = tls::check_peer(client_.ssl(), *client_ctx_);
  if (!checked) {
    connector_.stats.handshake_failures.fetch_add(1, std::memory_order_relaxed);
    refuse_client(
        tls::classify_peer_refusal(SSL_get0_peer_certificate(client_.ssl()), *client_ctx_),
        checked.error().message());
    return;
  }
  // OpenSSL does not verify the certificate of a resumed session again: a
  // ticket issued before a CRL listed its certificate, or before its CA left
  // trusted_dir, would still get in. Check it as a full handshake would,
  // with the chain its ticket kept (tls/revalidate.h).
  if (SSL_session_reused(client_.ssl()) == 1 &&
      SSL_get0_peer_certificate(client_.ssl()) != nullptr) {
    auto again = tls::recheck_peer(tls::connected_peer(client_.ssl(), peer_), *client_ctx_,
                                   util::SystemClock::instance().now(), client_ctx_.get());
    if (!again) {
      connector_.stats.handshake_failures.fetch_add(1, std::memory_order_relaxed);
      return refuse_client(tls::classify_recheck_failure(again.error().message()),
                           "resumed TLS session refused: " + again.error().message());
    }
  }
  identity_ = *checked;
  if (!on_peer_checked(tls::Side::kServer)) return;
  counters_->handshake(version_of(client_.ssl()), SSL_session_reused(client_.ssl()) == 1);
  if (client_ctx_->policy.trust_all) {
    log(spdlog::level::debug, "NOT verified (ssl.policy.{}.trust_all=true)",
        client_ctx_->policy.scope);
  }
  if (const auto* renewed = tls::renewed_trusted_leaf(client_.ssl())) {
    log(spdlog::level::info,
        "certificate trusted as the renewal of {} (same public key and "
        "issuer; ssl.policy.{}.implicit_trust_renewed)",
        *renewed, client_ctx_->policy.scope);
  }
  log(spdlog::level::debug, "TLS handshake done: {} {} peer \"{}\" identity \"{}\"",
      SSL_get_version(client_.ssl()), SSL_CIPHER_get_name(SSL_get_current_cipher(client_.ssl())),
      identity_.subject, identity_.identity);
  check_revocation(true, &Session::on_client_checked);
}

void Session::on_client_checked() {
  if (mysql_) return mysql_apply(mysql_->client_tls_ready());
  if (nats_) return nats_apply(nats_->negotiation.client_tls_ready());
  if (postgres_ && connector_.user_map) {
    // The StartupMessage inside TLS names the user to check against user_map.
    postgres_->tls_started();
    return negotiate_postgres();
  }
  connect_upstream();
}

std::string Session::user_refusal(std::string_view user) {
  auto map = connector_.user_map->get();
  std::string refusal = map->refusal(identity_.identity, user);
  if (!refusal.empty()) {
    connector_.stats.users_refused.fetch_add(1, std::memory_order_relaxed);
    user_refused_ = true;
  }
  if (refusal.empty()) db_user_ = std::string(user);  // checked again when the map changes
  return refusal;
}

void Session::connect_upstream() {
  const auto& target = connector_.settings.upstream_address;
  // A TLS backend gets its own policy's handshake_timeout, as ClientPool's do.
  arm_deadline(upstream_ctx_ ? upstream_ctx_.get() : client_ctx_.get(),
               (upstream_ctx_ ? "connect and TLS handshake with backend " : "connect to backend ") +
                   config::to_string(target),
               true);
  auto self = shared_from_this();
  auto on_connect = [this, self](const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
      // No descriptor for the backend's socket is counted once, as a refusal
      // for want of descriptors, not also as an upstream failure: the
      // backend is fine, the gate's RLIMIT_NOFILE is what to raise, and the
      // refusal's line names it.
      bool no_fds = ec == boost::system::errc::too_many_files_open ||
                    ec == boost::system::errc::too_many_files_open_in_system;
      if (no_fds) note_fd_refusal(connector_, fd_limit_);
      return fail_upstream(
          tls::FailureReason::kConnectFailed,
          no_fds
              ? fmt::format("cannot connect to backend {}: {}",
                            config::to_string(connector_.settings.upstream_address), ec.message())
              : fmt::format("cannot connect to backend {}: {}; is it running and listening "
                            "there? (connector.{}.upstream_address)",
                            config::to_string(connector_.settings.upstream_address), ec.message(),
                            connector_.settings.name),
          !no_fds);
    }
    on_upstream_connected();
  };
  // An address needs no resolver, whose thread costs two context switches.
  boost::system::error_code ec;
  auto address = asio::ip::make_address(target.host, ec);
  if (!ec) return connect_directly(tcp::endpoint(address, target.port), std::move(on_connect));
  resolver_.emplace(upstream_socket_.get_executor());
  resolver_->async_resolve(
      target.host, std::to_string(target.port),
      [this, self, on_connect](const boost::system::error_code& rec,
                               const tcp::resolver::results_type& results) {
        if (closed_) return;
        if (rec) {
          return fail_upstream(
              tls::FailureReason::kConnectFailed,
              fmt::format("cannot resolve backend {}: {}",
                          config::to_string(connector_.settings.upstream_address), rec.message()));
        }
        asio::async_connect(upstream_socket_, results,
                            [on_connect](const boost::system::error_code& cec,
                                         const tcp::endpoint&) { on_connect(cec); });
      });
}

// connect(2) and a wait for writability: Asio's async_connect would add a
// poll(2) per backend connection before it reads SO_ERROR.
void Session::connect_directly(const tcp::endpoint& to,
                               std::function<void(const boost::system::error_code&)> then) {
  auto c = start_connect(to.data(), static_cast<socklen_t>(to.size()));
  boost::system::error_code ec;
  if (c.fd.valid()) upstream_socket_.assign(to.protocol(), c.fd.get(), ec);
  if (ec) return then(ec);
  c.fd.release();  // upstream_socket_ owns it now
  mark_own_descriptor(upstream_socket_, true);
  if (c.error != EINPROGRESS) return then({c.error, boost::system::system_category()});
  waiter_.wait(
      upstream_socket_, tcp::socket::wait_write,
      [this, then = std::move(then)](const boost::system::error_code& wec) {
        if (wec || closed_) return then(wec);
        then({connect_result(upstream_socket_.native_handle()), boost::system::system_category()});
      });
}

void Session::on_upstream_connected() {
  // Asio's async_connect (a backend host name) left the socket non-blocking too.
  upstream_.emplace(upstream_socket_.native_handle());
  if (mysql_) {
    arm_deadline(client_ctx_.get(), "MySQL connection phase (greeting, TLS handshake and login)");
    auto step = mysql_->start();
    if (connector_.settings.proxy_protocol == config::ProxyProtocol::kV2) {
      step.to_backend.insert(0, proxy_header());
      proxy_header_sent_ = true;
    }
    mysql_apply(std::move(step));
  } else if (nats_) {
    arm_deadline(client_ctx_.get(), "NATS connection phase (INFO, TLS handshakes and CONNECT)");
    auto step = nats_->negotiation.start();
    if (connector_.settings.proxy_protocol == config::ProxyProtocol::kV2) {
      step.to_backend.insert(0, proxy_header());
      proxy_header_sent_ = true;
    }
    nats_apply(std::move(step));
  } else if (!upstream_ctx_) {
    on_upstream_ready();
  } else if (postgres_) {
    postgres_upstream_request();
  } else {
    start_upstream_tls();
  }
}

// The backend cannot be used. A database client waiting in its protocol gets
// an error it can print rather than a bare close; the details (addresses,
// certificates) stay in the gate's log, not with the client.
void Session::fail_upstream(tls::FailureReason why, const std::string& reason, bool count) {
  constexpr std::string_view kMessage =
      "tlsgate: the database server is unavailable; the gate's log says why";
  if (postgres_ && !cancel_only_) {
    send_to_client(starttls::pg_error_response("08006", kMessage));
  } else if (mysql_) {
    auto err = mysql_->refuse(starttls::kErHandshakeError, "08S01", kMessage);
    client_.write(err.data(), err.size());  // best effort into an idle socket
  }
  fail_backend(why, reason, count);
}

void Session::fail_backend(tls::FailureReason why, const std::string& reason, bool count) {
  if (count) {
    connector_.stats.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    counters_->upstream_failure(why);
  }
  fail(why, reason, true);
}

void Session::refuse_client(tls::FailureReason why, const std::string& reason) {
  counters_->handshake_failure(why);
  fail(why, reason);
}

void Session::start_upstream_tls() {
  pki::clear_openssl_errors();
  tls::SslPtr ssl(SSL_new(upstream_ctx_->ssl_ctx.get()));
  if (!ssl) return fail_tls_setup(true);
  SSL_set_connect_state(ssl.get());
  if (upstream_ctx_->policy.revocation_checks != config::RevocationChecks::kNone) {
    SSL_set_tlsext_status_type(ssl.get(), TLSEXT_STATUSTYPE_ocsp);  // a staple spares a fetch
  }
  tls::set_expected_name(ssl.get(), connector_.settings.upstream_server_name,
                         upstream_ctx_->policy.verify_hostname);
  if (!upstream_->attach_tls(std::move(ssl))) return fail_tls_setup(true);
  upstream_handshake();
}

void Session::upstream_handshake() {
  auto r = upstream_->handshake();
  if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
    wait(*upstream_, r.status, &Session::upstream_handshake);
    return;
  }
  std::string backend = config::to_string(connector_.settings.upstream_address);
  if (r.status != Io::kOk) {
    auto why = tls::classify_handshake_failure(upstream_->ssl());
    return fail_upstream(why,
                         tls::explain_handshake_failure(upstream_->ssl(), *upstream_ctx_, backend));
  }
  if (auto checked = tls::check_peer(upstream_->ssl(), *upstream_ctx_); !checked) {
    return fail_upstream(
        tls::classify_peer_refusal(SSL_get0_peer_certificate(upstream_->ssl()), *upstream_ctx_),
        "backend " + backend + ": " + checked.error().message());
  }
  if (!on_peer_checked(tls::Side::kClient)) return;
  if (const auto* renewed = tls::renewed_trusted_leaf(upstream_->ssl())) {
    log(spdlog::level::info,
        "backend {}: certificate trusted as the renewal of {} (same public key and issuer; "
        "ssl.policy.{}.implicit_trust_renewed)",
        backend, *renewed, upstream_ctx_->policy.scope);
  }
  check_revocation(false, &Session::on_upstream_checked);
}

void Session::on_upstream_checked() {
  if (mysql_) return mysql_apply(mysql_->backend_tls_ready());
  if (nats_) return nats_apply(nats_->negotiation.backend_tls_ready());
  on_upstream_ready();
}

void Session::on_upstream_ready() {
  timer_.cancel();
  // Established: both sides connected, relaying from now on.
  since_ = util::SystemClock::instance().now();
  if (live_ != nullptr) {
    (*live_)[id_] = this;
    live_listed_ = true;
  }
  if (!pending_.empty()) {
    bytes_from_client_ += pending_.size();
    counters_->bytes_from_clients.add(pending_.size());
  }
  if (connector_.settings.proxy_protocol == config::ProxyProtocol::kV2 && !proxy_header_sent_) {
    preamble_ = proxy_header();
    proxy_header_sent_ = true;
  }
  preamble_ += pending_;
  pending_.clear();
  up_.from = &client_;
  up_.to = &*upstream_;
  down_.from = &*upstream_;
  down_.to = &client_;
  send_preamble();
}

std::string Session::proxy_header() {
  ProxyInfo info;
  boost::system::error_code ec;
  info.source = client_socket_.remote_endpoint(ec);
  info.destination = client_socket_.local_endpoint(ec);
  if (client_.is_tls()) {
    info.tls = true;
    info.client_cert = identity_.presented;
    info.tls_version = SSL_get_version(client_.ssl());
    info.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(client_.ssl()));
    // Under trust_all nobody verified the certificate: the backend is told
    // so, and gets no name from it (review s23, security finding 5).
    info.verified = identity_.presented && !client_ctx_->policy.trust_all;
    X509* cert = SSL_get0_peer_certificate(client_.ssl());
    if (cert != nullptr && info.verified) {
      auto cn = tls::identities_of(cert, config::IdentityFrom::kCn);
      if (!cn.empty()) info.client_cn = cn.front();
      info.identity = identity_.identity;
    }
  }
  return proxy_v2_header(info);
}

void Session::send_preamble() {
  while (preamble_sent_ < preamble_.size()) {
    auto r = upstream_->write(preamble_.data() + preamble_sent_, preamble_.size() - preamble_sent_);
    if (r.status == Io::kOk) {
      preamble_sent_ += r.bytes;
    } else if (r.status == Io::kWantWrite || r.status == Io::kWantRead) {
      wait(*upstream_, r.status, &Session::send_preamble);
      return;
    } else {
      fail_backend(tls::FailureReason::kOther, "cannot write the PROXY header to the backend");
      return;
    }
  }
  if (cancel_only_) {
    finish("CancelRequest relayed to the backend");
    return;
  }
  arm_idle();
  pump(up_);
  pump(down_);
}

void Session::pump(Direction& d) {
  size_t turn = 0;  // bytes read in this turn of the event loop
  while (!closed_ && !d.done) {
    if (d.begin < d.end) {
      auto r = d.to->write_more(d.data() + d.begin, d.end - d.begin);
      if (r.status == Io::kOk) {
        if (&d == &down_) {
          bytes_to_client_ += r.bytes;
          counters_->bytes_to_clients.add(r.bytes);
        }
        d.begin += r.bytes;
        if (d.begin == d.end) d.begin = d.end = 0;
        continue;
      }
      if (r.status == Io::kWantRead || r.status == Io::kWantWrite)
        return wait_direction(d, *d.to, r.status);
      return fail_io(*d.to, d);
    }
    if (d.eof) {
      // When the other direction is done the session closes right after,
      // and close(2) sends the FIN: one system call less per connection.
      const Direction& other = &d == &up_ ? down_ : up_;
      auto r = d.to->shutdown_write(!other.done);
      if (r.status == Io::kWantRead || r.status == Io::kWantWrite)
        return wait_direction(d, *d.to, r.status);
      d.done = true;
      break;
    }
    // The last read left the socket empty (not even a FIN behind it): wait
    // rather than read again only to hear EAGAIN (one system call less per
    // message). Data that comes in after that read wakes the wait
    // (net/ready_wait.h).
    if (turn >= kTurnBytes) return yield_direction(d);
    IoResult r{Io::kWantRead};
    if (!std::exchange(d.drained, false)) {
      if (!d.buffer) d.buffer = take_block();
      r = d.from->read(d.buffer.get(), kBufferSize);
    }
    if (r.status == Io::kOk) {
      if (mysql_relay_ && &d == &up_ && !mysql_follow({d.buffer.get(), r.bytes})) return;
      if (&d == &up_) {
        bytes_from_client_ += r.bytes;
        counters_->bytes_from_clients.add(r.bytes);
      }
      turn += r.bytes;
      if (d.filtered) {
        if (!nats_filter(d, r.bytes)) return;
      } else {
        d.end = r.bytes;
      }
      d.drained = r.drained;
      last_activity_ = std::chrono::steady_clock::now();
    } else if (r.status == Io::kEof) {
      d.eof = true;
    } else if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
      d.buffer.reset();  // empty here: nothing is lost
      if (d.filtered) std::string().swap(d.text);
      // Nothing more to read for now: what write_more() gathered goes out.
      auto f = d.to->flush();
      if (f.status == Io::kWantWrite) return wait_direction(d, *d.to, f.status);
      if (f.status != Io::kOk) return fail_io(*d.to, d);
      return wait_direction(d, *d.from, r.status);
    } else {
      return fail_io(*d.from, d);
    }
  }
  if (up_.done && down_.done) finish("closed by both sides");
}

// A TLS peer that ends the connection with an alert (a backend refusing our
// certificate after a TLS 1.3 handshake, say) is explained at info; a plain
// reset or close is routine and logged at debug.
void Session::fail_io(Stream& s, const Direction& d) {
  if (s.is_tls() && ERR_peek_error() != 0) {
    bool client = &s == &client_;
    std::string who = client ? peer_ : config::to_string(connector_.settings.upstream_address);
    auto why = tls::classify_handshake_failure(s.ssl());
    auto text =
        tls::explain_handshake_failure(s.ssl(), client ? *client_ctx_ : *upstream_ctx_, who);
    // A backend that ends the connection with an alert (it refused our
    // certificate after a TLS 1.3 handshake) failed as a backend; a client's
    // alert after its handshake is only logged.
    if (!client) return fail_backend(why, text);
    return fail(why, text);
  }
  pki::clear_openssl_errors();
  finish(fmt::format("connection reset ({})", d.name));
}

void Session::wait(Stream& s, Io want, void (Session::*then)()) {
  auto type = want == Io::kWantWrite ? tcp::socket::wait_write : tcp::socket::wait_read;
  waiter_.wait(socket_of(s), type,
               [this, self = shared_from_this(), then](const boost::system::error_code& ec) {
                 if (ec || closed_) return;
                 (this->*then)();
               });
}

void Session::wait_direction(Direction& d, Stream& s, Io want) {
  // `drained` holds only in the handler that read: by the next one the
  // reactor may have taken the socket's edge (net/ready_wait.h).
  d.drained = false;
  if (d.waiting) return;
  d.waiting = true;
  auto type = want == Io::kWantWrite ? tcp::socket::wait_write : tcp::socket::wait_read;
  waiter_.wait(socket_of(s), type,
               [this, self = shared_from_this(), &d](const boost::system::error_code& ec) {
                 d.waiting = false;
                 if (ec || closed_) return;
                 pump(d);
               });
}

// A direction that always has data (a backend streaming to a client that
// reads as fast) would keep the loop's thread until a socket filled — about
// 4 MiB into a fresh kernel buffer — while other sessions' ready handlers
// wait. After kTurnBytes it sends what it gathered and queues its next turn
// behind them.
void Session::yield_direction(Direction& d) {
  d.drained = false;  // as in wait_direction()
  auto f = d.to->flush();
  if (f.status == Io::kWantWrite) return wait_direction(d, *d.to, f.status);
  if (f.status != Io::kOk) return fail_io(*d.to, d);
  d.waiting = true;
  auto next = [this, self = shared_from_this(), &d] {
    d.waiting = false;
    if (!closed_) pump(d);
  };
  if (turns_ != nullptr) return turns_->defer(std::move(next));
  boost::asio::post(timer_.get_executor(), std::move(next));
}

void Session::arm_deadline(const tls::Context* policy, std::string what, bool upstream) {
  // The snapshot's value (a reload changes it for new sessions), and the key
  // that set it, for the message.
  config::Seconds timeout =
      policy ? policy->policy.handshake_timeout : connector_.handshake_timeout;
  std::string key = policy ? "ssl.policy." + policy->policy.scope + ".handshake_timeout"
                           : "the default: connector." + connector_.settings.name +
                                 " has tls_level=DISABLED and no ssl.policy to set it";
  timer_.expires_after(to_duration(timeout));
  timer_.async_wait([this, self = shared_from_this(), what = std::move(what), timeout,
                     key = std::move(key), upstream](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    if (!upstream && mysql_ && mysql_->awaits_greeting()) {
      // Connected, but silent: something that waits for the client to speak first.
      return fail_upstream(
          tls::FailureReason::kTimeout,
          fmt::format("MySQL backend {} sent no greeting within {}s ({}); is upstream_address a "
                      "MySQL/MariaDB server?",
                      config::to_string(connector_.settings.upstream_address), timeout.count(),
                      key));
    }
    connector_.stats.handshake_failures.fetch_add(1, std::memory_order_relaxed);
    auto why = fmt::format("{} not completed within {}s ({})", what, timeout.count(), key);
    if (upstream) return fail_backend(tls::FailureReason::kTimeout, why);
    refuse_client(tls::FailureReason::kTimeout, why);
  });
}

void Session::arm_idle() {
  if (connector_.idle_timeout.count() <= 0) return;
  auto idle = to_duration(connector_.idle_timeout);
  timer_.expires_at(last_activity_ + idle);
  timer_.async_wait([this, self = shared_from_this(), idle](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    if (std::chrono::steady_clock::now() - last_activity_ >= idle) {
      finish(fmt::format("idle for {}s (server.idle_timeout)", connector_.idle_timeout.count()));
    } else {
      arm_idle();
    }
  });
}

bool Session::close_all() {
  if (closed_) return false;
  closed_ = true;
  untrack();
  if (live_listed_) {
    live_->erase(id_);
    live_listed_ = false;
  }
  boost::system::error_code ec;
  timer_.cancel();
  if (resolver_) resolver_->cancel();
  client_.detach();
  if (upstream_) upstream_->detach();
  client_socket_.close(ec);
  upstream_socket_.close(ec);
  return true;
}

void Session::finish(const std::string& reason) {
  if (close_all()) log(spdlog::level::debug, "{}", reason);
}

void Session::fail(tls::FailureReason why, const std::string& text, bool backend) {
  if (!close_all()) return;
  failure_ = why;
  auto held_back = connector_.failure_log.admit();
  if (!held_back) return;
  auto level = backend ? spdlog::level::warn : spdlog::level::info;
  auto line = tls::with_reason(text, why);
  if (*held_back == 0) return log_text(level, line);
  log(level,
      "{} ({} failure line(s) of this connector held back before this one: more than 20 a "
      "second)",
      line, *held_back);
}

void Session::log_text(spdlog::level::level_enum level, std::string_view text,
                       std::string_view note) const {
  util::LogFields fields;
  fields.connector = connector_.settings.name;
  fields.client = peer_;
  // Under trust_all nobody verified the certificate that names it, and one
  // found revoked (or of unknown status under STRICT) is no verified one.
  const bool revocation_failed = failure_ == tls::FailureReason::kRevoked ||
                                 failure_ == tls::FailureReason::kRevocationUnknown;
  if (identity_.presented && client_ctx_ && !client_ctx_->policy.trust_all && !revocation_failed) {
    fields.identity = identity_.identity;
  }
  if (failure_) fields.reason = tls::reason_name(*failure_);
  util::ScopedLogFields scope(fields);
  if (note.empty()) {
    spdlog::log(level, "connector {}: client {}: {}", connector_.settings.name, peer_, text);
  } else {
    spdlog::log(level, "connector {}: client {} ({}): {}", connector_.settings.name, peer_, note,
                text);
  }
}

std::string Session::closing_note() const {
  return client_.is_tls() && identity_.presented
             ? fmt::format("identity \"{}\"", identity_.identity)
             : std::string("no client certificate");
}

ConnectionInfo Session::info() const {
  ConnectionInfo c;
  c.id = id_;
  c.connector = connector_.settings.name;
  c.client = peer_;
  c.identity = identity_.identity;
  if (client_.is_tls()) {
    c.tls_version = SSL_get_version(client_.ssl());
    c.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(client_.ssl()));
    c.resumed = SSL_session_reused(client_.ssl()) == 1;
  }
  c.since = since_;
  c.bytes_from_client = bytes_from_client_;
  c.bytes_to_client = bytes_to_client_;
  return c;
}

void Session::close_by(const std::string& who) {
  if (closed_) return;
  auto self = shared_from_this();  // closing must not end it under our feet
  log_text(spdlog::level::info, "closed by " + who, closing_note());
  finish("closed on request");
}

}  // namespace tlsgate::net
