// The MySQL/MariaDB connection phase, as a byte-level state machine with no
// sockets (STYLE.md practice 19).
//
// MySQL's server speaks first: the gate connects to the backend, reads its
// initial handshake packet and forwards it with CLIENT_SSL added to the
// capabilities (every other bit kept, but compression under check_user). A client that wants TLS
// answers with a 32-byte SSL Request and starts its TLS handshake at once; the gate runs that
// handshake, reads the real HandshakeResponse inside TLS and relays it to the backend with
// CLIENT_SSL cleared, so the backend sees an ordinary plaintext login. Sequence ids are kept per
// side: every packet the gate forwards carries (last id seen on that side) + 1, so the two sides
// may drift apart (the SSL Request is one packet the backend never sees; the caching_sha2_password
// key exchange is three packets the client never sees).
//
// Authentication exchanges (auth switch, ed25519, caching_sha2 fast and full)
// are relayed packet by packet until the backend sends OK or ERR; then the
// session relays raw bytes both ways. When the client is on TLS but the
// backend link is plaintext and caching_sha2_password asks for full
// authentication, the client sends its password in clear (it believes the
// link is secure); the gate does the RSA public-key exchange with the backend
// on the client's behalf instead of forwarding the clear password.
// sha256_password gets the same treatment: its clear password arrives in the
// HandshakeResponse (or after an auth switch) and the backend gets a public-key
// request (0x01) in its place.
//
// With upstream TLS the gate sends its own SSL Request to the backend, the
// session runs the backend TLS handshake, and the HandshakeResponse goes to
// the backend with CLIENT_SSL set.
//
// Under tls_level=DISABLED the greeting goes out with CLIENT_SSL cleared and
// the next step is kRelay, unless check_user or upstream TLS still need the
// HandshakeResponse (then negotiation goes on as for a plaintext client).
//
// The session reads at most client_bytes_wanted() / backend_bytes_wanted()
// bytes at a time, so it never reads past a packet: the bytes after a
// client's SSL Request belong to its TLS ClientHello and must stay in the
// socket. Bytes fed past the end of the awaited packet are refused (kClose),
// never buffered. Packets during negotiation are capped at
// kMaxMysqlNegotiationPacket. One instance per connection, used from its loop
// thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "net/starttls/mysql_wire.h"

namespace tlsgate::net::starttls {

struct MysqlStep {
  enum class Next {
    kReadBackend,  // read up to backend_bytes_wanted() bytes, feed from_backend()
    kReadClient,   // read up to client_bytes_wanted() bytes, feed from_client()
    kClientTls,    // TLS handshake with the client, then client_tls_ready()
    kBackendTls,   // TLS handshake with the backend, then backend_tls_ready()
    kRelay,        // negotiation over: relay raw bytes both ways
    kClose,        // close both sides; `reason` says why (for the log)
  };
  // Sent before acting on `next`: first to_client, then to_backend.
  std::string to_client;
  std::string to_backend;
  Next next = Next::kReadBackend;
  std::string reason;
  bool refused_plaintext = false;  // kClose: ERR 3159 to a plaintext client under REQUIRED
};

struct MysqlOptions {
  config::TlsLevel level = config::TlsLevel::kRequired;
  bool upstream_tls = false;  // the gate does the backend's own SSL Request
  // Called with the user name of the HandshakeResponse before it reaches the
  // backend; returns a refusal message (sent to the client as ERR 1045) or ""
  // to let it through. May be empty (no user_map). When set, compression
  // (CLIENT_COMPRESS, CLIENT_ZSTD_COMPRESSION_ALGORITHM) is withdrawn from
  // the greeting and the HandshakeResponse, so that the session can follow
  // the client's commands after login (starttls/mysql_commands.h).
  std::function<std::string(std::string_view user)> check_user;
};

class MysqlNegotiation {
 public:
  explicit MysqlNegotiation(MysqlOptions options);

  // Call once the backend is connected: kReadBackend (its greeting).
  MysqlStep start();
  MysqlStep from_backend(std::string_view bytes);
  MysqlStep from_client(std::string_view bytes);
  MysqlStep client_tls_ready();
  MysqlStep backend_tls_ready();

  // How many bytes complete the packet now awaited from that side (>= 1).
  size_t client_bytes_wanted() const;
  size_t backend_bytes_wanted() const;

  // Ends the negotiation for a reason outside it (the backend is gone): the
  // ERR packet to send the client, numbered for where the client is.
  std::string refuse(uint16_t code, std::string_view sqlstate, std::string_view message);

  const std::string& user() const { return user_; }
  bool client_on_tls() const { return client_tls_; }
  // Still waiting for the backend's greeting (a timeout is the backend's).
  bool awaits_greeting() const { return state_ == State::kGreeting; }

 private:
  enum class State {
    kGreeting,        // the backend's initial handshake
    kClientFirst,     // the client's SSL Request or plaintext HandshakeResponse
    kClientTls,       // until client_tls_ready()
    kClientResponse,  // the HandshakeResponse inside TLS
    kBackendTls,      // until backend_tls_ready()
    kAuthBackend,     // auth exchange: the backend's next packet
    kAuthClient,      // auth exchange: the client's next packet
    kClearPassword,   // the client's clear password, kept from a plaintext backend
    kPublicKey,       // the backend's RSA public key, to encrypt that password
    kRelay,
    kClosed,
  };
  MysqlStep on_greeting(uint8_t seq, std::string_view payload);
  MysqlStep on_client_first(std::string_view payload);
  MysqlStep on_handshake_response(std::string_view payload);
  MysqlStep on_auth_backend(std::string_view payload);
  MysqlStep on_clear_password(std::string_view payload);
  MysqlStep send_encrypted_password(std::string_view pem);
  MysqlStep to_client(std::string_view payload, MysqlStep::Next next, State state);
  MysqlStep to_backend(std::string_view payload, MysqlStep::Next next, State state);
  MysqlStep forward(std::string MysqlStep::*side, uint8_t seq, std::string_view payload,
                    MysqlStep::Next next, State state);
  MysqlStep close(std::string reason, uint16_t code = 0, std::string_view sqlstate = {},
                  std::string_view message = {});
  bool backend_link_plaintext_under_tls() const;
  // Capabilities taken out of the greeting and the HandshakeResponse.
  uint32_t withdrawn_caps() const;
  void forget_password();

  MysqlOptions options_;
  std::string user_;
  bool client_tls_ = false;
  State state_ = State::kGreeting;
  MysqlPacketBuffer client_buf_;   // the client packet being assembled
  MysqlPacketBuffer backend_buf_;  // the backend packet being assembled
  uint8_t client_seq_ = 0;         // last sequence id seen/sent on the client side
  uint8_t backend_seq_ = 0;        // last sequence id seen/sent on the backend side
  uint32_t server_caps_ = 0;
  uint32_t client_caps_ = 0;
  std::string scramble_;            // the latest auth-plugin data from the backend
  std::string auth_plugin_;         // the plugin currently being exchanged
  std::string clear_password_;      // the client's clear password, without NUL; wiped after use
  std::string handshake_response_;  // held while the backend TLS handshake runs
};

}  // namespace tlsgate::net::starttls
