// Session phases for protocol=nats: the connection phase from the backend's
// INFO to the client's CONNECT (net/starttls/nats.h decides, this file does
// the I/O), the TLS-first window, and the filters of the relay
// (net/starttls/nats_stream.h): server->client always, client->server only
// with a user_map. Each step's bytes are written out in full,
// client first, before the session acts on what the step says comes next.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/value_parsers.h"
#include "net/session.h"
#include "pki/openssl_error.h"

namespace tlsgate::net {

using NatsNext = starttls::NatsStep::Next;

void Session::start_nats() {
  const auto accepted_at = std::chrono::steady_clock::now();
  const auto& s = connector_.settings;
  starttls::NatsOptions options{
      .level = s.tls_level,
      .client_certificates_required =
          client_ctx_ != nullptr && client_ctx_->policy.client_auth == config::ClientAuth::kRequire,
      .upstream_tls = upstream_ctx_ != nullptr,
      .upstream_tls_first = s.upstream_tls_first,
      .advertise = s.advertise,
      .advertise_host = {},
      .advertise_port = 0,
      .check_user = {}};
  if (!s.advertise.empty()) {
    if (auto first = config::parse_address(s.advertise.front()); first) {
      options.advertise_host = first->host;
      options.advertise_port = first->port;
    }
  }
  if (connector_.user_map) {
    options.check_user = [this](std::string_view user) { return user_refusal(user); };
  }
  nats_ = std::make_unique<Nats>(std::move(options), timer_.get_executor());
  nats_->accepted_at = accepted_at;
  // nats-server speaks first: the backend's INFO starts everything.
  connect_upstream();
}

void Session::nats_apply(starttls::NatsStep step) {
  nats_->step = std::move(step);
  nats_flush();
}

void Session::nats_flush() {
  for (bool to_client : {true, false}) {
    std::string& out = to_client ? nats_->step.to_client : nats_->step.to_backend;
    Stream& s = to_client ? client_ : *upstream_;
    while (!out.empty()) {
      auto r = s.write(out.data(), out.size());
      if (r.status == Io::kOk) {
        if (to_client) bytes_to_client_ += r.bytes;
        out.erase(0, r.bytes);
      } else if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
        return wait(s, r.status, &Session::nats_flush);
      } else if (nats_->step.next == NatsNext::kClose) {
        break;  // closing anyway: the refusal could not be delivered
      } else {
        pki::clear_openssl_errors();
        return finish(to_client ? "client went away during the NATS connection phase"
                                : "NATS backend " +
                                      config::to_string(connector_.settings.upstream_address) +
                                      " went away during the connection phase");
      }
    }
  }
  nats_act();
}

void Session::nats_act() {
  switch (nats_->step.next) {
    case NatsNext::kReadBackend:
      return nats_read_backend();
    case NatsNext::kReadClient:
      return nats_read_client();
    case NatsNext::kPeekClient:
      return nats_peek();
    case NatsNext::kClientTls:
      return start_client_tls();  // then on_client_checked() -> client_tls_ready()
    case NatsNext::kBackendTls:
      return start_upstream_tls();  // then on_upstream_checked() -> backend_tls_ready()
    case NatsNext::kRelay:
      return nats_relay();
    case NatsNext::kClose:
      if (nats_->step.backend_fault) {
        return fail_backend(tls::FailureReason::kOther,
                            "NATS backend " +
                                config::to_string(connector_.settings.upstream_address) + ": " +
                                nats_->step.reason);
      }
      if (nats_->step.refused_plaintext) {
        connector_.stats.plaintext_refused.fetch_add(1, std::memory_order_relaxed);
      }
      // A CONNECT refused for its shape never reached user_refusal().
      if (nats_->step.refused_user && !std::exchange(user_refused_, true)) {
        connector_.stats.users_refused.fetch_add(1, std::memory_order_relaxed);
      }
      return refuse_client(nats_->step.refused_plaintext ? tls::FailureReason::kPlaintextRefused
                           : nats_->step.refused_user    ? tls::FailureReason::kUserNotMapped
                                                         : tls::FailureReason::kOther,
                           nats_->step.refused_user ? nats_->step.reason + " (connector." +
                                                          connector_.settings.name + ".user_map)"
                                                    : nats_->step.reason);
  }
}

void Session::nats_read(bool from_client) {
  Stream& s = from_client ? client_ : *upstream_;
  std::array<char, 4096> buf{};
  auto r = s.read(buf.data(), buf.size());
  if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
    return wait(s, r.status,
                from_client ? &Session::nats_read_client : &Session::nats_read_backend);
  }
  if (r.status != Io::kOk) {
    pki::clear_openssl_errors();
    if (from_client) {
      return finish("client closed the connection during the NATS connection phase");
    }
    return fail_backend(tls::FailureReason::kOther,
                        "NATS backend " + config::to_string(connector_.settings.upstream_address) +
                            " closed the connection during the connection phase");
  }
  if (from_client) bytes_from_client_ += r.bytes;
  std::string_view bytes(buf.data(), r.bytes);
  nats_apply(from_client ? nats_->negotiation.from_client(bytes)
                         : nats_->negotiation.from_backend(bytes));
}

// The client's first byte decides between TLS first and the INFO upgrade.
// Within the window a quiet client is an answer too (INFO goes first); after
// INFO the wait is bounded by the phase's deadline alone.
void Session::nats_peek() {
  unsigned char byte = 0;
  ssize_t n = ::recv(client_.fd(), &byte, 1, MSG_PEEK);
  if (n == 1) return nats_peeked(byte);
  if (n == 0) return finish("client closed the connection during the NATS connection phase");
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    return refuse_client(tls::FailureReason::kOther, fmt::format("cannot read from client: {}",
                                                                 std::strerror(errno)));  // NOLINT
  }
  const uint32_t seq = ++nats_->peek_seq;
  auto self = shared_from_this();
  waiter_.wait(client_socket_, boost::asio::ip::tcp::socket::wait_read,
               [this, self, seq](const boost::system::error_code& ec) {
                 if (ec || closed_ || seq != nats_->peek_seq) return;
                 nats_->window.cancel();
                 nats_peek();
               });
  if (!nats_->step.windowed) return;
  const auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      connector_.settings.nats_tls_first_window);
  nats_->window.expires_at(nats_->accepted_at + window);
  nats_->window.async_wait([this, self, seq](const boost::system::error_code& ec) {
    if (ec || closed_ || seq != nats_->peek_seq) return;
    ++nats_->peek_seq;  // the pending readiness wait no longer counts
    boost::system::error_code ignored;
    client_socket_.cancel(ignored);
    nats_peeked(std::nullopt);
  });
}

void Session::nats_peeked(std::optional<unsigned char> byte) {
  ++nats_->peek_seq;
  if (nats_->step.windowed) {
    log(spdlog::level::debug, "NATS client: {}", byte == 0x16 ? "TLS first" : "INFO first");
  }
  nats_apply(nats_->negotiation.client_first(byte));
}

void Session::nats_relay() {
  down_.filtered = down_.rewrites = true;
  auto& n = nats_->negotiation;
  nats_->down = std::make_unique<starttls::NatsServerStream>(n.rewrite());
  // Only with a user_map: without one a later CONNECT changes nothing the
  // gate checked, and the client's side stays a plain copy.
  nats_->up = n.take_client_stream();
  up_.filtered = nats_->up != nullptr;
  // What the backend sent after its first INFO goes out first.
  if (!n.backend_rest().empty()) {
    down_.text.clear();
    if (!nats_->down->feed(n.backend_rest(), down_.text)) {
      return fail_backend(tls::FailureReason::kOther,
                          "NATS backend " +
                              config::to_string(connector_.settings.upstream_address) + ": " +
                              nats_->down->error());
    }
    down_.begin = 0;
    down_.end = down_.text.size();
  }
  on_upstream_ready();
}

bool Session::nats_filter(Direction& d, size_t bytes) {
  std::string_view in(d.buffer.get(), bytes);
  if (&d == &up_) {
    if (!nats_->up->feed(in)) {
      // The client gets no -ERR: the server's side may be in the middle of
      // a message, and a line written into it would corrupt it.
      if (!nats_->up->refused_connect()) {
        fail(tls::FailureReason::kOther,
             nats_->up->error() +
                 "; the session is closed, as nothing after it can be relayed safely");
        return false;
      }
      // Counted and logged as a refused first CONNECT is.
      if (!std::exchange(user_refused_, true)) {
        connector_.stats.users_refused.fetch_add(1, std::memory_order_relaxed);
      }
      refuse_client(tls::FailureReason::kUserNotMapped,
                    nats_->up->error() + " (connector." + connector_.settings.name + ".user_map)");
      return false;
    }
    d.begin = 0;
    d.end = bytes;
    return true;
  }
  d.text.clear();
  if (!nats_->down->feed(in, d.text)) {
    fail_backend(tls::FailureReason::kOther,
                 "NATS backend " + config::to_string(connector_.settings.upstream_address) + ": " +
                     nats_->down->error() +
                     "; the session is closed, as nothing after it "
                     "can be relayed safely");
    return false;
  }
  d.begin = 0;
  d.end = d.text.size();
  return true;
}

}  // namespace tlsgate::net
