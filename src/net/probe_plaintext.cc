#include "net/probe_plaintext.h"

#include <algorithm>

#include "util/peer_text.h"

namespace tlsgate::net {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A MySQL/MariaDB packet header (3-byte length, sequence 0) before a
// handshake v10 greeting or an error packet ("Host ... is not allowed").
bool mysql_greeting(std::string_view b) {
  if (b.size() < 5 || b[3] != 0) return false;
  auto u = [&b](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(b[i])); };
  unsigned len = u(0) | (u(1) << 8) | (u(2) << 16);
  return len > 0 && len < 0x10000 && (u(4) == 0x0a || u(4) == 0xff);
}

// The first line, escaped (it goes between quotes) and cut at 60 bytes.
std::string first_line(std::string_view b) {
  return util::escape_peer_text(b.substr(0, b.find_first_of("\r\n")), 60);
}

}  // namespace

std::optional<std::string> plaintext_protocol(std::string_view b) {
  if (b.empty()) return std::nullopt;
  auto b0 = static_cast<unsigned char>(b[0]);
  // A TLS record header: content type change_cipher_spec .. heartbeat, major version 3.
  if (b0 >= 20 && b0 <= 24 && (b.size() < 2 || b[1] == 3)) return std::nullopt;
  // Before the SSLv2 test: a greeting over 127 bytes has its length's low byte >= 0x80.
  if (mysql_greeting(b)) return "MySQL/MariaDB";
  if (b0 & 0x80) return std::nullopt;  // could be an SSLv2 record: not ours to judge
  if (starts_with(b, "HTTP/")) return "HTTP";
  if (starts_with(b, "INFO ") || starts_with(b, "INFO{")) return "NATS";
  if (starts_with(b, "-ERR")) return "NATS or Redis";
  if (starts_with(b, "SSH-")) return "SSH";
  if (starts_with(b, "220")) return "SMTP or FTP";
  if (starts_with(b, "* OK")) return "IMAP";
  if (starts_with(b, "+OK")) return "POP3";
  bool text = std::all_of(b.begin(), b.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\r' || c == '\n' || c == '\t';
  });
  return text ? "plain text" : "a protocol other than TLS";
}

std::string explain_plaintext_peer(std::string_view first_bytes, const std::string& peer,
                                   bool starttls_done) {
  std::string what = plaintext_protocol(first_bytes).value_or("a protocol other than TLS");
  std::string out = peer + " answered with plaintext, not TLS (looks like " + what;
  // A binary greeting printed as text is noise; a text line is evidence.
  if (what != "MySQL/MariaDB" && what != "a protocol other than TLS") {
    out += ": \"" + first_line(first_bytes) + "\"";
  }
  out += ")";
  if (starttls_done) {
    return out + " after the STARTTLS exchange; the server did not switch to TLS";
  }
  out += ": is this a plaintext port? ";
  if (what == "NATS") return out + "For NATS use --starttls nats";
  if (what == "MySQL/MariaDB") return out + "For MySQL/MariaDB use --starttls mysql";
  if (what == "plain text" || what == "a protocol other than TLS") {
    return out + "For STARTTLS protocols use --starttls postgres|mysql|nats";
  }
  return out + "Probe the service's TLS port (--starttls covers postgres, mysql and nats only)";
}

}  // namespace tlsgate::net
