// Session phases for protocol=postgres: the plaintext negotiation before TLS
// with the client (net/starttls/postgres.h decides, this file does the I/O),
// and the gate's own SSLRequest to a TLS backend.
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "net/session.h"

namespace tlsgate::net {

using Action = starttls::PgStep::Action;

bool Session::send_to_client(const std::string& bytes) {
  // Replies here are 1 byte or a short ErrorResponse into an empty socket
  // buffer; a partial write means the peer is gone.
  auto r = client_.write(bytes.data(), bytes.size());
  return r.status == Io::kOk && r.bytes == bytes.size();
}

void Session::negotiate_postgres() {
  if (!client_.is_tls()) {
    unsigned char first = 0;
    ssize_t peeked = ::recv(client_.fd(), &first, 1, MSG_PEEK);
    if (peeked == 1 && first == 0x16 &&
        connector_.settings.tls_level != config::TlsLevel::kDisabled) {
      on_detected(first);  // direct TLS (sslnegotiation=direct)
      return;
    }
  }
  std::array<char, 512> buf{};
  while (true) {
    auto r = client_.read(buf.data(), buf.size());
    if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
      wait(client_, r.status, &Session::negotiate_postgres);
      return;
    }
    if (r.status != Io::kOk) {
      finish("client closed the connection during the PostgreSQL negotiation");
      return;
    }
    auto step = postgres_->consume(std::string_view(buf.data(), r.bytes));
    switch (step.action) {
      case Action::kNeedMore:
        continue;
      case Action::kReply:
        if (!send_to_client(step.reply)) return finish("client went away during the negotiation");
        continue;
      case Action::kStartTls: {
        if (!send_to_client(step.reply)) return finish("client went away during the negotiation");
        return start_client_tls();
      }
      case Action::kRelay:
        if (connector_.user_map) {
          if (auto refusal = user_refusal(step.user); !refusal.empty()) {
            send_to_client(starttls::pg_error_response("28000", refusal));
            return refuse_client(
                tls::FailureReason::kUserNotMapped,
                refusal + " (connector." + connector_.settings.name + ".user_map)");
          }
        }
        pending_ = std::move(step.forward);
        connect_upstream();
        return;
      case Action::kCancel:
        pending_ = std::move(step.forward);
        cancel_only_ = true;
        connect_upstream();
        return;
      case Action::kRefuse:
        connector_.stats.plaintext_refused.fetch_add(1, std::memory_order_relaxed);
        send_to_client(step.reply);
        return refuse_client(tls::FailureReason::kPlaintextRefused, step.reason);
      case Action::kError:
        if (!step.reply.empty()) send_to_client(step.reply);
        return refuse_client(tls::FailureReason::kOther, step.reason);
    }
  }
}

void Session::postgres_upstream_request() {
  auto request = starttls::pg_ssl_request();
  auto r = upstream_->write(request.data(), request.size());
  if (r.status != Io::kOk || r.bytes != request.size()) {
    return fail_backend(tls::FailureReason::kOther,
                        "cannot send SSLRequest to the PostgreSQL backend");
  }
  postgres_upstream_answer();
}

void Session::postgres_upstream_answer() {
  char answer = 0;
  auto r = upstream_->read(&answer, 1);
  if (r.status == Io::kWantRead)
    return wait(*upstream_, r.status, &Session::postgres_upstream_answer);
  std::string backend = config::to_string(connector_.settings.upstream_address);
  if (r.status != Io::kOk)
    return fail_backend(tls::FailureReason::kOther,
                        "PostgreSQL backend " + backend + " closed during SSLRequest");
  if (answer != 'S') {
    return fail_upstream(tls::FailureReason::kOther,
                         "PostgreSQL backend " + backend + " does not offer TLS (answered '" +
                             std::string(1, answer) +
                             "' to SSLRequest); enable ssl on it or remove connector." +
                             connector_.settings.name + ".upstream_ssl_policy");
  }
  start_upstream_tls();
}

}  // namespace tlsgate::net
