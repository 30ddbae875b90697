#include "net/starttls/postgres.h"

#include <algorithm>
#include <vector>

#include "util/peer_text.h"

namespace tlsgate::net::starttls {
namespace {

uint32_t be32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

PgStep error(std::string reason) {
  PgStep s;
  s.action = PgStep::Action::kError;
  s.reason = std::move(reason);
  return s;
}

// A StartupMessage's parameter list (name\0value\0 pairs ending in \0),
// or why it cannot be taken: malformed, or a name given twice. PostgreSQL
// keeps the last `user` of a list that names it twice, so checking the first
// against user_map would let the second log in (review s23 defect 2); no
// client sends a name twice, so such a list is refused outright.
struct StartupParameters {
  std::string user;
  std::string refusal;  // "" when the list is sound
};

StartupParameters startup_parameters(std::string_view params) {
  StartupParameters out;
  std::vector<std::string_view> seen;
  while (!params.empty() && params.front() != '\0') {
    auto name_end = params.find('\0');
    auto value_end =
        name_end == std::string_view::npos ? name_end : params.find('\0', name_end + 1);
    if (value_end == std::string_view::npos) {
      out.refusal = "its parameter list is not terminated";
      return out;
    }
    auto name = params.substr(0, name_end);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      out.refusal = "it names parameter " + util::quoted_peer_text(name) + " twice";
      return out;
    }
    seen.push_back(name);
    if (name == "user")
      out.user = std::string(params.substr(name_end + 1, value_end - name_end - 1));
    params.remove_prefix(value_end + 1);
  }
  return out;
}

}  // namespace

std::string pg_error_response(std::string_view sqlstate, std::string_view message) {
  std::string fields;
  auto field = [&fields](char type, std::string_view value) {
    fields += type;
    fields += value;
    fields += '\0';
  };
  field('S', "FATAL");
  field('V', "FATAL");
  field('C', sqlstate);
  field('M', message);
  fields += '\0';
  std::string out = "E";
  put32(out, static_cast<uint32_t>(fields.size() + 4));
  return out + fields;
}

std::string pg_ssl_request() {
  std::string out;
  put32(out, 8);
  put32(out, kSslRequestCode);
  return out;
}

PgStep PostgresNegotiation::consume(std::string_view bytes) {
  buffer_.append(
      bytes.substr(0, kMaxStartupLength + 8 - std::min(buffer_.size(), kMaxStartupLength + 8)));
  if (buffer_.size() < 8) return {};
  uint32_t length = be32(buffer_, 0);
  uint32_t code = be32(buffer_, 4);
  if (length < 8 || length > kMaxStartupLength) {
    return error("malformed PostgreSQL startup packet (length " + std::to_string(length) + ")");
  }
  if (code == kSslRequestCode || code == kGssEncRequestCode) {
    if (tls_) return error("client sent an SSLRequest/GSSENCRequest inside TLS");
    if (length != 8)
      return error("malformed PostgreSQL SSLRequest/GSSENCRequest (length " +
                   std::to_string(length) + ")");
    if (buffer_.size() > 8) {
      // CVE-2021-23214: bytes sent before the TLS handshake must not be
      // taken as if they had come through TLS.
      return error("client sent data after its SSLRequest, before TLS started; refusing it");
    }
    buffer_.clear();
    PgStep s;
    bool tls = code == kSslRequestCode && level_ != config::TlsLevel::kDisabled;
    s.action = tls ? PgStep::Action::kStartTls : PgStep::Action::kReply;
    s.reply = tls ? "S" : "N";
    return s;
  }
  if (buffer_.size() < length) return {};
  PgStep s;
  if (code == kCancelRequestCode) {
    if (length != 16)
      return error("malformed PostgreSQL CancelRequest (length " + std::to_string(length) + ")");
    s.action = PgStep::Action::kCancel;
    s.forward = buffer_.substr(0, 16);
    return s;
  }
  if ((code >> 16) != 3) {
    return error("unknown PostgreSQL request code " + std::to_string(code) + " before TLS");
  }
  if (level_ == config::TlsLevel::kRequired && !tls_) {
    s.action = PgStep::Action::kRefuse;
    s.reply = pg_error_response(
        "28000",
        "tlsgate: this server accepts only TLS connections; connect with sslmode=require, "
        "verify-ca or verify-full");
    s.reason =
        "client sent a plaintext StartupMessage to a TLS-only port; answered with an ErrorResponse";
    return s;
  }
  auto params = startup_parameters(std::string_view(buffer_).substr(8, length - 8));
  if (!params.refusal.empty()) {
    auto e = error("client's StartupMessage refused: " + params.refusal);
    e.reply = pg_error_response("08P01", "tlsgate: invalid startup packet: " + params.refusal);
    return e;
  }
  s.action = PgStep::Action::kRelay;
  s.user = std::move(params.user);
  s.forward = std::move(buffer_);
  buffer_.clear();
  return s;
}

}  // namespace tlsgate::net::starttls
