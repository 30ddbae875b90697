#include "net/starttls/nats.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "net/starttls/nats_json.h"
#include "util/secret.h"

namespace tlsgate::net::starttls {
namespace {

constexpr unsigned char kTlsHandshakeRecord = 0x16;

NatsStep next(NatsStep::Next n, std::string to_client = {}, std::string to_backend = {}) {
  NatsStep s;
  s.next = n;
  s.to_client = std::move(to_client);
  s.to_backend = std::move(to_backend);
  return s;
}

bool json_true(const std::vector<JsonMember>& members, std::string_view key) {
  for (const auto& m : members) {
    if (m.key == key) return m.value == "true";
  }
  return false;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Whether KEY names the member NAME (lower case) for Go's encoding/json,
// which nats-server decodes CONNECT with: it matches keys without case.
// Keys that are not plain ASCII are refused before this is asked (Go folds
// "ſ" to "s" and "K", the Kelvin sign, to "k"), so ASCII folding is enough.
bool names(std::string_view key, std::string_view name) {
  return key.size() == name.size() &&
         std::equal(key.begin(), key.end(), name.begin(),
                    [](char k, char n) { return ascii_lower(k) == n; });
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Go's decoder turns bytes that are not UTF-8 (and lone surrogates) into
// U+FFFD: the server would see another user than the one checked.
bool is_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    const uint32_t least = n == 2 ? 0x800 : n == 3 ? 0x10000 : 0x80;
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// The members of a CONNECT that log in without a user: nats-server
// authenticates by them (and may ignore `user`), which user_map cannot check.
constexpr std::array<std::string_view, 4> kLoginsWithoutUser = {"jwt", "nkey", "auth_token", "sig"};

// What makes a CONNECT's members unfit for user_map ("" if nothing); USER
// gets the one user they name ("" when none). The server must see the user
// that was checked: one member named `user` under the decoder's rules,
// spelled exactly so (no two that Go would take the last of, no "USER"),
// and no other way to log in.
std::string connect_refusal(const std::vector<JsonMember>& members, std::string& user) {
  bool have_user = false;
  for (const auto& m : members) {
    if (!is_ascii(m.key)) {
      return "the client's CONNECT has a member name that is not plain ASCII, which nats-server "
             "might take for user";
    }
    if (names(m.key, "user")) {
      if (m.key != "user") {
        return "the client's CONNECT spells its user member " + json_quote(m.key) +
               ", which nats-server takes for user; only \"user\" is accepted";
      }
      if (std::exchange(have_user, true)) {
        return "the client's CONNECT has more than one user member (nats-server would take the "
               "last)";
      }
      auto value = json_string_value(m.value);
      if (!value) return "the client's CONNECT has a user that is not a string";
      if (!is_utf8(*value)) return "the client's CONNECT has a user that is not UTF-8";
      user = std::move(*value);
      continue;
    }
    for (std::string_view login : kLoginsWithoutUser) {
      if (names(m.key, login) && m.value != "\"\"" && m.value != "null") {
        return "the client's CONNECT carries " + std::string(login) +
               " (a JWT, nkey or token login), which user_map cannot check";
      }
    }
  }
  return {};
}

}  // namespace

NatsNegotiation::NatsNegotiation(NatsOptions options) : options_(std::move(options)) {}

NatsStep NatsNegotiation::start() {
  if (options_.upstream_tls && options_.upstream_tls_first) {
    state_ = State::kBackendTlsFirst;
    return next(NatsStep::Next::kBackendTls);
  }
  state_ = State::kInfo;
  return next(NatsStep::Next::kReadBackend);
}

NatsStep NatsNegotiation::close(std::string reason, std::string_view to_client) {
  state_ = State::kClosed;
  util::wipe(connect_);
  NatsStep s = next(NatsStep::Next::kClose, std::string(to_client));
  s.reason = std::move(reason);
  return s;
}

NatsStep NatsNegotiation::from_backend(std::string_view bytes) {
  if (state_ != State::kInfo) {
    auto s = close("the NATS backend sent data out of turn during the connection phase");
    s.backend_fault = true;
    return s;
  }
  const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
  size_t take =
      nl ? static_cast<size_t>(static_cast<const char*>(nl) - bytes.data()) + 1 : bytes.size();
  if (info_line_.size() + take > kMaxNatsLine) {
    auto s = close("the NATS backend's INFO line is longer than " + std::to_string(kMaxNatsLine) +
                   " bytes");
    s.backend_fault = true;
    return s;
  }
  info_line_.append(bytes.data(), take);
  if (nl == nullptr) return next(NatsStep::Next::kReadBackend);
  backend_rest_.assign(bytes.substr(take));
  auto json = nats_line_json(info_line_, "INFO");
  auto members = json ? json_object_members(*json) : std::nullopt;
  if (!members) {
    auto s = close("the backend did not start with a NATS INFO line; is it a nats-server?");
    s.backend_fault = true;
    return s;
  }
  if (options_.upstream_tls && !options_.upstream_tls_first) {
    if (!json_true(*members, "tls_required") && !json_true(*members, "tls_available")) {
      auto s = close(
          "the NATS backend's INFO offers no TLS (neither tls_required nor tls_available); "
          "enable TLS on it or remove the connector's upstream_ssl_policy");
      s.backend_fault = true;
      return s;
    }
    if (!backend_rest_.empty()) {
      auto s = close("the NATS backend sent bytes after its INFO before TLS started");
      s.backend_fault = true;
      return s;
    }
    state_ = State::kBackendUpgrade;
    return next(NatsStep::Next::kBackendTls);
  }
  if (!options_.upstream_tls && json_true(*members, "tls_required")) {
    auto s = close(
        "the NATS backend requires TLS (tls_required in its INFO) but the gate speaks "
        "plaintext to it; set the connector's upstream_ssl_policy");
    s.backend_fault = true;
    return s;
  }
  return after_backend_info();
}

NatsStep NatsNegotiation::backend_tls_ready() {
  if (state_ == State::kBackendTlsFirst) {
    state_ = State::kInfo;
    return next(NatsStep::Next::kReadBackend);
  }
  if (state_ == State::kBackendUpgrade) return after_backend_info();
  return close("backend TLS ready out of turn");
}

NatsStep NatsNegotiation::after_backend_info() {
  if (options_.level == config::TlsLevel::kDisabled) {
    return after_client_ready(info_for_client());
  }
  state_ = State::kWindow;
  auto s = next(NatsStep::Next::kPeekClient);
  s.windowed = true;
  return s;
}

NatsStep NatsNegotiation::client_first(std::optional<unsigned char> byte) {
  if (state_ == State::kWindow) {
    if (byte && *byte == kTlsHandshakeRecord) {
      state_ = State::kClientTls;  // TLS first: INFO after the handshake
      return next(NatsStep::Next::kClientTls);
    }
    if (!byte) {
      state_ = State::kAfterInfo;
      info_sent_ = true;
      return next(NatsStep::Next::kPeekClient, info_for_client());
    }
    return info_sent_then_first(*byte, info_for_client());
  }
  if (state_ == State::kAfterInfo && byte) return info_sent_then_first(*byte, {});
  return close("client byte out of turn");
}

NatsStep NatsNegotiation::info_sent_then_first(unsigned char byte, std::string to_client) {
  if (byte == kTlsHandshakeRecord) {
    info_sent_ = true;  // INFO is out: none after the handshake
    state_ = State::kClientTls;
    return next(NatsStep::Next::kClientTls, std::move(to_client));
  }
  if (options_.level == config::TlsLevel::kRequired) {
    auto s = close(
        "client sent plaintext after INFO with tls_required (tls_level=REQUIRED); "
        "answered -ERR 'Secure Connection - TLS Required'",
        std::string(to_client) + std::string(kNatsTlsRequired));
    s.refused_plaintext = true;
    return s;
  }
  info_sent_ = true;
  return after_client_ready(std::move(to_client));
}

NatsStep NatsNegotiation::client_tls_ready() {
  if (state_ != State::kClientTls) return close("client TLS ready out of turn");
  client_tls_ = true;
  return after_client_ready(info_sent_ ? std::string() : info_for_client());
}

NatsStep NatsNegotiation::after_client_ready(std::string to_client) {
  info_sent_ = true;
  if (options_.check_user) {
    state_ = State::kConnect;
    return next(NatsStep::Next::kReadClient, std::move(to_client));
  }
  state_ = State::kRelay;
  return next(NatsStep::Next::kRelay, std::move(to_client));
}

NatsStep NatsNegotiation::from_client(std::string_view bytes) {
  if (state_ != State::kConnect) return close("client data out of turn");
  connect_.append(bytes);
  const auto nl = connect_.find('\n');
  if (nl == std::string::npos) {
    if (connect_.size() > kMaxNatsLine) {
      return close(
          "the client's CONNECT line is longer than " + std::to_string(kMaxNatsLine) + " bytes",
          "-ERR 'Maximum Control Line Exceeded'\r\n");
    }
    return next(NatsStep::Next::kReadClient);
  }
  std::string_view line(connect_.data(), nl + 1);
  auto json = nats_line_json(line, "CONNECT");
  auto members = json ? json_object_members(*json) : std::nullopt;
  if (!members) {
    auto s = close("the client's first line is not CONNECT with a JSON object; user_map needs it",
                   kNatsAuthViolation);
    s.refused_user = true;
    return s;
  }
  std::string refusal = connect_refusal(*members, user_);
  if (refusal.empty()) refusal = options_.check_user(user_);
  if (!refusal.empty()) {
    auto s = close(std::move(refusal), kNatsAuthViolation);
    s.refused_user = true;
    return s;
  }
  // What came with the CONNECT is followed as the relay will follow the rest.
  client_stream_ = std::make_unique<NatsClientStream>();
  if (!client_stream_->feed(std::string_view(connect_).substr(nl + 1))) {
    auto s = close(client_stream_->error(),
                   client_stream_->refused_connect() ? kNatsAuthViolation : std::string_view());
    s.refused_user = client_stream_->refused_connect();
    return s;
  }
  state_ = State::kRelay;
  auto s = next(NatsStep::Next::kRelay, {}, std::move(connect_));
  util::wipe(connect_);
  connect_.clear();
  return s;
}

NatsInfoRewrite NatsNegotiation::rewrite() const {
  NatsInfoRewrite how;
  const bool tls = options_.level != config::TlsLevel::kDisabled;
  how.tls_required = options_.level == config::TlsLevel::kRequired || client_tls_;
  how.tls_verify = tls && options_.client_certificates_required;
  how.tls_available = options_.level == config::TlsLevel::kOptional;
  how.advertise = options_.advertise;
  how.host = options_.advertise_host;
  how.port = options_.advertise_port;
  return how;
}

std::string NatsNegotiation::info_for_client() const {
  // from_backend() checked that it parses.
  return rewrite_info(info_line_, rewrite()).value_or(std::string());
}

}  // namespace tlsgate::net::starttls
