// PostgreSQL's pre-TLS negotiation, as a byte-level state machine with no
// sockets (STYLE.md practice 19).
//
// A PostgreSQL client starts in plaintext: it sends SSLRequest (and expects
// 'S' or 'N'), GSSENCRequest (we answer 'N'), CancelRequest, or a
// StartupMessage. PostgreSQL 17 clients with sslnegotiation=direct instead
// open with a TLS ClientHello (first byte 0x16), which the session detects
// before feeding bytes here. The session feeds every byte the client sends
// before TLS to consume() and acts on the returned Step. Lengths are checked
// before anything is buffered: at most kMaxStartupLength bytes are held.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.h"

namespace tlsgate::net::starttls {

inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;
inline constexpr uint32_t kProtocol3 = 196608;  // 3.0
inline constexpr size_t kMaxStartupLength = 10000;

struct PgStep {
  enum class Action {
    kNeedMore,  // wait for more bytes
    kReply,     // send `reply` to the client, then keep negotiating
    kStartTls,  // send `reply` ('S'), then the TLS handshake with the client
    kRelay,     // plaintext session: send `forward` to the backend, then relay both ways
    kCancel,    // send `forward` (a CancelRequest) to the backend, then close
    kRefuse,    // plaintext to a TLS-only port: send `reply` (an ErrorResponse), then close
    kError,     // send `reply` (an ErrorResponse) if any, then close; `reason` says why
  };
  Action action = Action::kNeedMore;
  std::string reply;
  std::string forward;
  std::string reason;
  std::string user;  // kRelay: the StartupMessage's user parameter
};

class PostgresNegotiation {
 public:
  explicit PostgresNegotiation(config::TlsLevel level) : level_(level) {}

  PgStep consume(std::string_view bytes);
  // The client's TLS handshake is done: what follows (StartupMessage or
  // CancelRequest) came through TLS. Only needed when the session must see
  // the StartupMessage (user_map); otherwise it relays the TLS bytes as is.
  void tls_started() {
    tls_ = true;
    buffer_.clear();
  }

 private:
  config::TlsLevel level_;
  bool tls_ = false;
  std::string buffer_;
};

// A PostgreSQL ErrorResponse (severity FATAL) with the given SQLSTATE and message.
std::string pg_error_response(std::string_view sqlstate, std::string_view message);

// The SSLRequest the gate sends to a backend before its own TLS handshake.
std::string pg_ssl_request();

}  // namespace tlsgate::net::starttls
