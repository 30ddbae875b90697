#include "net/starttls/mysql.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "pki/rsa_oaep.h"

namespace tlsgate::net::starttls {
namespace {

using Next = MysqlStep::Next;
using Fill = MysqlPacketBuffer::Fill;

constexpr std::string_view kCachingSha2 = "caching_sha2_password";
constexpr std::string_view kSha256 = "sha256_password";
constexpr std::string_view kInsecureMessage =
    "tlsgate: connections using insecure transport are prohibited; connect with TLS (mysql "
    "--ssl-mode=REQUIRED, mariadb --ssl)";

uint8_t byte_at(std::string_view b, size_t at) { return static_cast<uint8_t>(b[at]); }

std::string hex_byte(uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 0xf];
}

std::string_view drop_trailing_nul(std::string_view s) {
  if (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

// (password + NUL) XOR scramble, RSA-OAEP-encrypted with the backend's key:
// what a MySQL client sends over a plaintext link.
std::optional<std::string> encrypt_password(std::string_view pem, std::string_view password,
                                            std::string_view scramble, std::string& error) {
  auto key = pki::rsa_public_key_from_pem(pem);
  if (!key) {
    error = "the backend's public key: " + key.error().message();
    return std::nullopt;
  }
  std::string plain;
  plain.reserve(password.size() + 1);  // no reallocation leaves a copy behind
  plain.append(password);
  plain += '\0';
  for (size_t i = 0; i < plain.size(); ++i) {
    plain[i] = static_cast<char>(plain[i] ^ scramble[i % scramble.size()]);
  }
  auto encrypted = pki::rsa_oaep_encrypt(key->get(), plain);
  util::wipe(plain);
  if (!encrypted) {
    error = "RSA-OAEP of the password and its NUL byte with the backend's public key: " +
            encrypted.error().message();
    return std::nullopt;
  }
  return std::move(*encrypted);
}

}  // namespace

MysqlNegotiation::MysqlNegotiation(MysqlOptions options) : options_(std::move(options)) {}

MysqlStep MysqlNegotiation::start() {
  MysqlStep s;
  s.next = Next::kReadBackend;
  return s;
}

size_t MysqlNegotiation::client_bytes_wanted() const { return client_buf_.bytes_wanted(); }

size_t MysqlNegotiation::backend_bytes_wanted() const { return backend_buf_.bytes_wanted(); }

// The session follows a checked client's commands after login
// (MysqlCommandFollower), which a compressed stream would hide: compression
// is not offered to the client, nor granted by the backend to one that asks
// for it unoffered.
uint32_t MysqlNegotiation::withdrawn_caps() const {
  return options_.check_user ? kClientCompress | kClientZstdCompression : 0;
}

bool MysqlNegotiation::backend_link_plaintext_under_tls() const {
  return client_tls_ && !options_.upstream_tls;
}

void MysqlNegotiation::forget_password() { util::wipe(clear_password_); }

std::string MysqlNegotiation::refuse(uint16_t code, std::string_view sqlstate,
                                     std::string_view message) {
  return close("refused by the session", code, sqlstate, message).to_client;
}

MysqlStep MysqlNegotiation::close(std::string reason, uint16_t code, std::string_view sqlstate,
                                  std::string_view message) {
  MysqlStep s;
  if (!message.empty()) {
    // Before the greeting the client awaits packet 0; after, the next id.
    uint8_t seq = state_ == State::kGreeting ? 0 : static_cast<uint8_t>(client_seq_ + 1);
    s.to_client = mysql_err_packet(seq, code, sqlstate, message);
  }
  s.next = Next::kClose;
  s.reason = std::move(reason);
  state_ = State::kClosed;
  forget_password();
  util::wipe(handshake_response_);
  return s;
}

// Each side numbers its own packets: the one forwarded gets that side's last id + 1.
MysqlStep MysqlNegotiation::to_client(std::string_view payload, Next next, State state) {
  return forward(&MysqlStep::to_client, ++client_seq_, payload, next, state);
}

MysqlStep MysqlNegotiation::to_backend(std::string_view payload, Next next, State state) {
  return forward(&MysqlStep::to_backend, ++backend_seq_, payload, next, state);
}

MysqlStep MysqlNegotiation::forward(std::string MysqlStep::*side, uint8_t seq,
                                    std::string_view payload, Next next, State state) {
  MysqlStep s;
  s.*side = mysql_packet(seq, payload);
  s.next = next;
  state_ = state;
  return s;
}

MysqlStep MysqlNegotiation::from_backend(std::string_view bytes) {
  if (state_ != State::kGreeting && state_ != State::kAuthBackend && state_ != State::kPublicKey) {
    return close("mysql negotiation: backend bytes fed while not waiting for the backend");
  }
  switch (backend_buf_.fill(bytes)) {
    case Fill::kPartial: {
      MysqlStep s;
      s.next = Next::kReadBackend;
      return s;
    }
    case Fill::kTooLong:
      return close("backend sent a " + std::to_string(backend_buf_.length()) +
                       "-byte packet during the MySQL handshake; the limit is " +
                       std::to_string(kMaxMysqlNegotiationPacket),
                   kErHandshakeError, "08S01", "tlsgate: the backend sent an oversized packet");
    case Fill::kOverrun:
      return close(
          "mysql negotiation: backend bytes fed past the end of a packet (read at most "
          "backend_bytes_wanted())");
    case Fill::kComplete:
      break;
  }
  backend_seq_ = backend_buf_.seq();
  std::string_view payload = backend_buf_.payload();
  MysqlStep s =
      state_ == State::kGreeting ? on_greeting(backend_seq_, payload) : on_auth_backend(payload);
  backend_buf_.clear();
  return s;
}

MysqlStep MysqlNegotiation::from_client(std::string_view bytes) {
  if (state_ != State::kClientFirst && state_ != State::kClientResponse &&
      state_ != State::kAuthClient && state_ != State::kClearPassword) {
    return close("mysql negotiation: client bytes fed while not waiting for the client");
  }
  Fill fill_result = client_buf_.fill(bytes);
  if (client_buf_.has_header()) client_seq_ = client_buf_.seq();
  switch (fill_result) {
    case Fill::kPartial: {
      MysqlStep s;
      s.next = Next::kReadClient;
      return s;
    }
    case Fill::kTooLong: {
      auto reason = "client sent a " + std::to_string(client_buf_.length()) +
                    "-byte packet during the MySQL handshake; the limit is " +
                    std::to_string(kMaxMysqlNegotiationPacket);
      client_buf_.clear();
      return close(std::move(reason), kErHandshakeError, "08S01",
                   "tlsgate: packet too large during the handshake");
    }
    case Fill::kOverrun:
      // After an SSL Request these would be TLS bytes read as plaintext.
      client_buf_.clear();
      return close(
          "mysql negotiation: client bytes fed past the end of a packet (read at most "
          "client_bytes_wanted())");
    case Fill::kComplete:
      break;
  }
  std::string_view payload = client_buf_.payload();
  MysqlStep s;
  switch (state_) {
    case State::kClientFirst:
      s = on_client_first(payload);
      break;
    case State::kClientResponse:
      if (payload.size() == 32 && (mysql_uint(payload, 0, 4) & kClientSsl)) {
        s = close("client sent a second SSL Request inside TLS", kErHandshakeError, "08S01",
                  "tlsgate: unexpected SSL Request inside TLS");
      } else {
        s = on_handshake_response(payload);
      }
      break;
    case State::kClearPassword:
      s = on_clear_password(payload);
      break;
    default:
      s = to_backend(payload, Next::kReadBackend, State::kAuthBackend);
      break;
  }
  // Client packets may hold a password (clear, or in the HandshakeResponse).
  client_buf_.clear();
  return s;
}

MysqlStep MysqlNegotiation::on_greeting(uint8_t seq, std::string_view payload) {
  if (payload.empty()) {
    return close("backend sent an empty greeting", kErHandshakeError, "08S01",
                 "tlsgate: the backend sent a malformed greeting");
  }
  if (byte_at(payload, 0) == kMysqlErr) {
    MysqlStep s;
    s.to_client = mysql_packet(seq, payload);
    s.next = Next::kClose;
    s.reason = "backend refused the connection before its greeting: " + mysql_err_message(payload);
    state_ = State::kClosed;
    return s;
  }
  if (byte_at(payload, 0) != 10) {
    return close("backend greeting has protocol version " + std::to_string(byte_at(payload, 0)) +
                     ", not 10; is upstream_address a MySQL/MariaDB server?",
                 kErHandshakeError, "08S01", "tlsgate: the backend is not a MySQL server");
  }
  MysqlReader r(payload);
  r.bytes(1);
  auto malformed = [this](std::string_view what) {
    return close("malformed backend greeting: " + std::string(what), kErHandshakeError, "08S01",
                 "tlsgate: the backend sent a malformed greeting");
  };
  if (!r.nul_string()) return malformed("server version is not NUL-terminated");
  if (!r.bytes(4)) return malformed("truncated before the auth-plugin data");
  auto part1 = r.bytes(8);
  if (!part1 || !r.bytes(1)) return malformed("truncated in the auth-plugin data");
  size_t caps_at = r.pos();
  auto caps_lo = r.uint(2);
  if (!caps_lo || !r.bytes(3)) return malformed("truncated in the capability flags");
  size_t caps_hi_at = r.pos();
  auto caps_hi = r.uint(2);
  auto data_len = r.uint(1);
  if (!caps_hi || !data_len || !r.bytes(10)) return malformed("truncated in the reserved bytes");
  server_caps_ = *caps_lo | (*caps_hi << 16);
  scramble_ = std::string(*part1);
  if (server_caps_ & kClientSecureConnection) {
    size_t len = std::max<size_t>(13, *data_len > 8 ? *data_len - 8 : 0);
    auto part2 = r.bytes(len);
    if (!part2) return malformed("auth-plugin data part 2 runs past the end");
    scramble_ += drop_trailing_nul(*part2);
  }
  auth_plugin_.clear();
  if ((server_caps_ & kClientPluginAuth) && !r.at_end()) {
    // MySQL 5.5.7-5.5.9 ended the name with the packet instead of a NUL.
    auto rest = *r.bytes(r.left());
    auth_plugin_ = std::string(rest.substr(0, rest.find('\0')));
  }
  if (options_.upstream_tls && !(server_caps_ & kClientSsl)) {
    return close(
        "backend does not offer TLS (no CLIENT_SSL in its greeting) but the connector has an "
        "upstream_ssl_policy; enable TLS on the backend or remove upstream_ssl_policy",
        kErHandshakeError, "08S01", "tlsgate: the backend does not offer TLS");
  }
  bool disabled = options_.level == config::TlsLevel::kDisabled;
  std::string out(payload);
  // We are the client's TLS endpoint whatever the backend offers.
  uint32_t caps = disabled ? (server_caps_ & ~kClientSsl) : (server_caps_ | kClientSsl);
  caps &= ~withdrawn_caps();
  mysql_set_uint(out, caps_at, caps & 0xffff, 2);
  mysql_set_uint(out, caps_hi_at, caps >> 16, 2);
  MysqlStep s;
  s.to_client = mysql_packet(seq, out);
  client_seq_ = seq;
  // Plain relay needs nothing more from us, unless a user check or our own
  // backend TLS must see the HandshakeResponse first.
  if (disabled && !options_.upstream_tls && !options_.check_user) {
    s.next = Next::kRelay;
    state_ = State::kRelay;
  } else {
    s.next = Next::kReadClient;
    state_ = State::kClientFirst;
  }
  return s;
}

MysqlStep MysqlNegotiation::on_client_first(std::string_view payload) {
  if (payload.size() < 4) {
    return close("client's first packet is " + std::to_string(payload.size()) +
                     " bytes, too short for a HandshakeResponse",
                 kErHandshakeError, "08S01", "tlsgate: bad handshake");
  }
  uint32_t caps = mysql_uint(payload, 0, 4);
  if (!(caps & kClientSsl)) return on_handshake_response(payload);
  if (payload.size() != 32) {
    return close("client set CLIENT_SSL in a " + std::to_string(payload.size()) +
                     "-byte packet; an SSL Request is 32 bytes",
                 kErHandshakeError, "08S01", "tlsgate: bad handshake");
  }
  if (options_.level == config::TlsLevel::kDisabled) {
    return close("client sent an SSL Request to a port with tls_level=DISABLED", kErHandshakeError,
                 "08S01", "tlsgate: TLS is disabled on this port");
  }
  // The MariaDB extended capabilities in the filler are the client's
  // business; it repeats them in the HandshakeResponse.
  client_caps_ = caps;
  MysqlStep s;
  s.next = Next::kClientTls;
  state_ = State::kClientTls;
  return s;
}

MysqlStep MysqlNegotiation::client_tls_ready() {
  if (state_ != State::kClientTls) {
    return close("mysql negotiation: client_tls_ready() without an SSL Request");
  }
  client_tls_ = true;
  MysqlStep s;
  s.next = Next::kReadClient;
  state_ = State::kClientResponse;
  return s;
}

MysqlStep MysqlNegotiation::on_handshake_response(std::string_view payload) {
  auto malformed = [this](std::string_view what) {
    return close("malformed HandshakeResponse: " + std::string(what), kErHandshakeError, "08S01",
                 "tlsgate: bad handshake");
  };
  if (payload.size() < 32) {
    return malformed(std::to_string(payload.size()) + " bytes, shorter than its 32-byte header");
  }
  uint32_t caps = mysql_uint(payload, 0, 4);
  if (!(caps & kClientProtocol41)) {
    return close("client does not speak protocol 4.1 (no CLIENT_PROTOCOL_41); refused",
                 kErNotSupportedAuthMode, "08004",
                 "tlsgate: client does not support the 4.1 protocol; upgrade the MySQL client");
  }
  if (!client_tls_ && options_.level == config::TlsLevel::kRequired) {
    auto s = close(
        "client sent a plaintext HandshakeResponse to a TLS-only port; answered with ERR 3159",
        kErSecureTransportRequired, "HY000", kInsecureMessage);
    s.refused_plaintext = true;
    return s;
  }
  MysqlReader r(payload);
  r.bytes(32);
  auto user = r.nul_string();
  if (!user) return malformed("user name is not NUL-terminated");
  size_t auth_field_at = r.pos();
  std::optional<std::string_view> auth;
  if (caps & kClientPluginAuthLenencData) {
    auto len = r.lenenc();
    if (!len) return malformed("bad length of the auth response");
    auth = r.bytes(*len);
  } else if (caps & kClientSecureConnection) {
    auto len = r.uint(1);
    if (len) auth = r.bytes(*len);
  } else {
    auth = r.nul_string();
  }
  if (!auth) return malformed("auth response runs past the end");
  size_t auth_field_end = r.pos();
  // Old clients end the packet early instead of sending empty trailing fields.
  if ((caps & kClientConnectWithDb) && !r.at_end() && !r.nul_string()) {
    return malformed("database name is not NUL-terminated");
  }
  std::string_view plugin = "mysql_native_password";
  if ((caps & kClientPluginAuth) && !r.at_end()) {
    auto name = r.nul_string();
    if (!name) return malformed("auth plugin name is not NUL-terminated");
    plugin = *name;
  }
  if ((caps & kClientConnectAttrs) && !r.at_end()) {
    auto len = r.lenenc();
    if (!len || !r.bytes(*len)) return malformed("connection attributes run past the end");
  }
  client_caps_ = caps;
  user_ = std::string(*user);
  auth_plugin_ = std::string(plugin);
  if (options_.check_user) {
    std::string refusal = options_.check_user(user_);
    if (!refusal.empty()) {
      return close("login as MySQL user \"" + user_ + "\" refused: " + refusal, kErAccessDenied,
                   "28000", refusal);
    }
  }
  bool sha256_clear = backend_link_plaintext_under_tls() && plugin == kSha256 && !auth->empty() &&
                      *auth != std::string_view("\0", 1);
  // Built in one buffer, never reassigned, so util::wipe() reaches every copy.
  std::string out;
  out.reserve(payload.size());
  if (sha256_clear) {
    // sha256_password over TLS puts the clear password right here; the
    // backend gets a public-key request (the one byte 0x01) in its place.
    clear_password_.assign(drop_trailing_nul(*auth));
    bool counted = caps & (kClientPluginAuthLenencData | kClientSecureConnection);
    out.append(payload.substr(0, auth_field_at));
    out.append(counted ? std::string_view("\x01\x01", 2) : std::string_view("\x01\0", 2));
    out.append(payload.substr(auth_field_end));
  } else {
    out.append(payload);
  }
  if (options_.upstream_tls) {
    mysql_set_uint(out, 0, (caps | kClientSsl) & ~withdrawn_caps(), 4);
    handshake_response_ = std::move(out);
    return to_backend(std::string_view(handshake_response_).substr(0, 32), Next::kBackendTls,
                      State::kBackendTls);
  }
  mysql_set_uint(out, 0, caps & ~(kClientSsl | withdrawn_caps()), 4);
  auto s =
      to_backend(out, Next::kReadBackend, sha256_clear ? State::kPublicKey : State::kAuthBackend);
  util::wipe(out);
  return s;
}

MysqlStep MysqlNegotiation::backend_tls_ready() {
  if (state_ != State::kBackendTls) {
    return close("mysql negotiation: backend_tls_ready() without a backend SSL Request");
  }
  auto s = to_backend(handshake_response_, Next::kReadBackend, State::kAuthBackend);
  util::wipe(handshake_response_);
  return s;
}

MysqlStep MysqlNegotiation::on_clear_password(std::string_view payload) {
  // An empty sha256_password is one NUL, which the backend accepts as is.
  if (auth_plugin_ == kSha256 && (payload.empty() || payload == std::string_view("\0", 1))) {
    return to_backend(payload, Next::kReadBackend, State::kAuthBackend);
  }
  clear_password_.assign(drop_trailing_nul(payload));
  std::string request(1, auth_plugin_ == kCachingSha2 ? '\x02' : '\x01');
  return to_backend(request, Next::kReadBackend, State::kPublicKey);
}

MysqlStep MysqlNegotiation::send_encrypted_password(std::string_view pem) {
  if (scramble_.empty()) {
    return close("backend sent no scramble to encrypt the password with", kErHandshakeError,
                 "08S01", "tlsgate: could not encrypt the password for the backend");
  }
  std::string error;
  auto encrypted = encrypt_password(pem, clear_password_, scramble_, error);
  forget_password();
  if (!encrypted) {
    return close("cannot encrypt the password of user " + user_ + " for the backend: " + error,
                 kErAccessDenied, "28000",
                 "tlsgate: could not encrypt the password for the backend: " + error);
  }
  return to_backend(*encrypted, Next::kReadBackend, State::kAuthBackend);
}

MysqlStep MysqlNegotiation::on_auth_backend(std::string_view payload) {
  if (payload.empty()) {
    return close("backend sent an empty packet during authentication", kErHandshakeError, "08S01",
                 "tlsgate: the backend sent a malformed packet");
  }
  uint8_t type = byte_at(payload, 0);
  if (state_ == State::kPublicKey) {
    if (type == kMysqlMoreData) return send_encrypted_password(payload.substr(1));
    // An auth switch or an error: the password is not needed any more.
    forget_password();
  }
  switch (type) {
    case kMysqlOk:
      return to_client(payload, Next::kRelay, State::kRelay);
    case kMysqlErr: {
      auto s = to_client(payload, Next::kClose, State::kClosed);
      s.reason = "backend refused login for user " + user_ + ": " + mysql_err_message(payload);
      return s;
    }
    case kMysqlAuthSwitch: {
      if (payload.size() == 1) {
        // The pre-4.1 switch: no name, and the greeting's scramble stays.
        auth_plugin_ = "mysql_old_password";
      } else {
        MysqlReader r(payload.substr(1));
        auto name = r.nul_string();
        if (!name) {
          return close(
              "malformed AuthSwitchRequest from the backend: plugin name is not "
              "NUL-terminated",
              kErHandshakeError, "08S01", "tlsgate: the backend sent a malformed packet");
        }
        auth_plugin_ = std::string(*name);
        scramble_ = std::string(drop_trailing_nul(*r.bytes(r.left())));
      }
      bool intercept = backend_link_plaintext_under_tls() && auth_plugin_ == kSha256;
      return to_client(payload, Next::kReadClient,
                       intercept ? State::kClearPassword : State::kAuthClient);
    }
    case kMysqlMoreData: {
      bool sha2 = auth_plugin_ == kCachingSha2 && payload.size() == 2;
      if (sha2 && byte_at(payload, 1) == 0x03) {
        // Fast auth succeeded; the OK follows without a client packet.
        return to_client(payload, Next::kReadBackend, State::kAuthBackend);
      }
      bool intercept = sha2 && byte_at(payload, 1) == 0x04 && backend_link_plaintext_under_tls();
      return to_client(payload, Next::kReadClient,
                       intercept ? State::kClearPassword : State::kAuthClient);
    }
    default:
      return close("backend sent packet type " + hex_byte(type) + " during authentication",
                   kErHandshakeError, "08S01", "tlsgate: the backend sent an unexpected packet");
  }
}

}  // namespace tlsgate::net::starttls
