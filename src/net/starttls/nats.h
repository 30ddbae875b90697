// The NATS connection phase, as a byte-level state machine with no sockets
// (STYLE.md practice 19).
//
// nats-server speaks first, in plaintext: `INFO {...}`. A client that sees
// tls_required upgrades the socket to TLS and then sends CONNECT (the INFO
// upgrade); a client in handshake_first mode sends its ClientHello at once
// and reads INFO inside TLS (TLS first). The gate serves both on one port, as
// nats-server's `auto` mode does: the backend's INFO is read first (the
// backend is connected at accept), then the session peeks at the client
// until the connector's nats_tls_first_window has passed since accept. A
// ClientHello (0x16) in that window means TLS first: handshake, then INFO
// inside TLS. Otherwise INFO goes out in plaintext with tls_required (REQUIRED),
// tls_available (OPTIONAL) and tls_verify (client certificates required), and
// the client's next byte decides: 0x16 starts TLS; anything else under
// REQUIRED gets nats-server's own `-ERR 'Secure Connection - TLS Required'`.
//
// With check_user (user_map) the client's CONNECT is read (bounded by
// kMaxNatsLine) and its `user` checked before a byte of it reaches the
// backend; a refusal is `-ERR 'Authorization Violation'`. nats-server decodes
// CONNECT with Go's encoding/json, which matches member names without case
// and keeps the last of duplicates, so the check refuses any CONNECT in which
// the server could see another user than the one checked: a member name that
// is not plain ASCII, a user member spelled otherwise than `user` or given
// twice, a user that is not a UTF-8 string; and one that logs in another way
// (jwt, nkey, auth_token, sig not empty). The client's bytes after the
// CONNECT, in this read and in the relay, go through a NatsClientStream,
// which refuses a second CONNECT. Everything else, and every INFO after the
// first, is the relay's (nats_stream.h).
//
// Toward the backend: with upstream TLS the gate either starts TLS at once
// (upstream_tls_first, then INFO inside TLS) or reads the plaintext INFO,
// checks that it offers TLS, and upgrades. Addresses in INFO are never dialled.
//
// One instance per connection, used from its loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "net/starttls/nats_stream.h"

namespace tlsgate::net::starttls {

inline constexpr std::string_view kNatsTlsRequired = "-ERR 'Secure Connection - TLS Required'\r\n";
inline constexpr std::string_view kNatsAuthViolation = "-ERR 'Authorization Violation'\r\n";

struct NatsStep {
  enum class Next {
    kReadBackend,  // read from the backend, feed from_backend()
    kBackendTls,   // TLS handshake with the backend, then backend_tls_ready()
    kPeekClient,   // peek one byte (windowed: until the window ends), then client_first()
    kClientTls,    // TLS handshake with the client, then client_tls_ready()
    kReadClient,   // read from the client, feed from_client()
    kRelay,        // negotiation over: relay, the server's side through NatsServerStream
                   // (and with check_user the client's through take_client_stream())
    kClose,        // close both sides; `reason` says why (for the log)
  };
  // Sent before acting on `next`: first to_client, then to_backend.
  std::string to_client;
  std::string to_backend;
  Next next = Next::kReadBackend;
  bool windowed = false;  // kPeekClient: a timeout (no byte yet) is an answer
  std::string reason;
  bool refused_plaintext = false;  // kClose: a plaintext client under REQUIRED
  bool refused_user = false;       // kClose: check_user refused
  bool backend_fault = false;      // kClose: the backend broke the protocol
};

struct NatsOptions {
  config::TlsLevel level = config::TlsLevel::kRequired;
  bool client_certificates_required = false;  // the client policy's client_auth=REQUIRE
  bool upstream_tls = false;
  bool upstream_tls_first = false;
  std::vector<std::string> advertise;  // host:port items
  std::string advertise_host;          // of the first item
  uint16_t advertise_port = 0;
  // The CONNECT's user, before it reaches the backend: a refusal message or
  // "" to let it through. Empty: no user_map, CONNECT is not read.
  std::function<std::string(std::string_view user)> check_user;
};

class NatsNegotiation {
 public:
  explicit NatsNegotiation(NatsOptions options);

  // Call once the backend is connected.
  NatsStep start();
  NatsStep from_backend(std::string_view bytes);
  NatsStep backend_tls_ready();
  // The client's first byte, or nullopt when the window passed without one.
  NatsStep client_first(std::optional<unsigned char> byte);
  NatsStep client_tls_ready();
  NatsStep from_client(std::string_view bytes);

  // For kRelay: the stream filter for the server's side, and the backend's
  // bytes already read past its first INFO (feed them to it first).
  NatsInfoRewrite rewrite() const;
  const std::string& backend_rest() const { return backend_rest_; }
  bool client_on_tls() const { return client_tls_; }
  const std::string& user() const { return user_; }
  // For kRelay with check_user: the stream that follows the client's bytes
  // from here on (it has seen those that came with the CONNECT). Null
  // without check_user: the client's side is relayed as it is.
  std::unique_ptr<NatsClientStream> take_client_stream() { return std::move(client_stream_); }

 private:
  enum class State {
    kBackendTlsFirst,  // until backend_tls_ready(), then INFO inside TLS
    kInfo,             // the backend's INFO line
    kBackendUpgrade,   // until backend_tls_ready(), after a plaintext INFO
    kWindow,           // peeking within the TLS-first window
    kAfterInfo,        // INFO sent in plaintext: the client's first byte
    kClientTls,        // until client_tls_ready()
    kConnect,          // the client's CONNECT line
    kRelay,
    kClosed,
  };
  NatsStep after_backend_info();
  NatsStep info_sent_then_first(unsigned char byte, std::string to_client);
  NatsStep after_client_ready(std::string to_client);
  std::string info_for_client() const;
  NatsStep close(std::string reason, std::string_view to_client = {});

  NatsOptions options_;
  State state_ = State::kInfo;
  bool client_tls_ = false;
  bool info_sent_ = false;    // the client has the first INFO
  std::string info_line_;     // the backend's INFO line, assembled
  std::string backend_rest_;  // backend bytes after it
  std::string connect_;       // client bytes up to and past its CONNECT line
  std::string user_;
  std::unique_ptr<NatsClientStream> client_stream_;
};

}  // namespace tlsgate::net::starttls
