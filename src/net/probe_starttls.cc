#include "net/probe_starttls.h"

#include "net/starttls/postgres.h"

namespace tlsgate::net {
namespace {

using starttls::MysqlPacketBuffer;
using starttls::MysqlReader;

// MySQL's SSL Request: capabilities, max packet size, character set, 23
// zero bytes (Protocol::SSLRequest). We ask for nothing beyond TLS.
std::string mysql_ssl_request(uint8_t seq) {
  std::string payload(32, '\0');
  uint32_t caps = 0x00000001 /* LONG_PASSWORD */ | starttls::kClientProtocol41 |
                  starttls::kClientSsl | starttls::kClientSecureConnection |
                  starttls::kClientPluginAuth;
  starttls::mysql_set_uint(payload, 0, caps, 4);
  starttls::mysql_set_uint(payload, 4, 16u * 1024 * 1024, 4);
  payload[8] = 45;  // utf8mb4_general_ci
  return starttls::mysql_packet(seq, payload);
}

// The JSON value of "key" in a NATS INFO object, as text: true/false/number,
// or a string's contents. "" when absent. Good enough for the flat INFO
// object; not a JSON parser.
std::string json_field(std::string_view obj, std::string_view key) {
  std::string quoted = "\"" + std::string(key) + "\"";
  size_t at = obj.find(quoted);
  if (at == std::string_view::npos) return "";
  at += quoted.size();
  while (at < obj.size() && (obj[at] == ' ' || obj[at] == '\t')) ++at;
  if (at >= obj.size() || obj[at] != ':') return "";
  ++at;
  while (at < obj.size() && (obj[at] == ' ' || obj[at] == '\t')) ++at;
  if (at < obj.size() && obj[at] == '"') {
    size_t end = obj.find('"', at + 1);
    return end == std::string_view::npos ? "" : std::string(obj.substr(at + 1, end - at - 1));
  }
  size_t end = obj.find_first_of(",}", at);
  std::string_view v = obj.substr(at, end == std::string_view::npos ? obj.size() - at : end - at);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

std::string_view protocol_name(StartTlsProtocol p) {
  switch (p) {
    case StartTlsProtocol::kPostgres:
      return "postgres";
    case StartTlsProtocol::kMysql:
      return "mysql";
    case StartTlsProtocol::kNats:
      return "nats";
    case StartTlsProtocol::kNone:
      break;
  }
  return "none";
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

StartTlsStep StartTlsClient::fail(std::string why) {
  done_ = true;
  StartTlsStep s;
  s.action = StartTlsStep::Action::kFail;
  s.error = std::move(why);
  return s;
}

StartTlsStep StartTlsClient::start() {
  StartTlsStep s;
  if (protocol_ == StartTlsProtocol::kNone) {
    s.action = StartTlsStep::Action::kStartTls;
  } else if (protocol_ == StartTlsProtocol::kPostgres) {
    s.send = starttls::pg_ssl_request();
  }
  return s;
}

size_t StartTlsClient::bytes_wanted() const {
  switch (protocol_) {
    case StartTlsProtocol::kPostgres:
      return 1;
    case StartTlsProtocol::kMysql:
      return greeting_.bytes_wanted();
    case StartTlsProtocol::kNats:
      // One byte at a time would be slow; the server sends nothing after
      // INFO until we speak, so a line's worth never swallows TLS bytes.
      return 512;
    case StartTlsProtocol::kNone:
      break;
  }
  return 0;
}

StartTlsStep StartTlsClient::consume(std::string_view bytes) {
  if (done_) return fail("bytes after the STARTTLS exchange ended");
  switch (protocol_) {
    case StartTlsProtocol::kPostgres:
      return on_postgres(bytes);
    case StartTlsProtocol::kMysql:
      return on_mysql(bytes);
    case StartTlsProtocol::kNats:
      return on_nats(bytes);
    case StartTlsProtocol::kNone:
      break;
  }
  return fail("no STARTTLS protocol to speak");
}

StartTlsStep StartTlsClient::on_postgres(std::string_view bytes) {
  if (bytes.empty()) return {};
  char c = bytes[0];
  if (bytes.size() > 1)
    return fail("PostgreSQL server sent more than its one-byte SSLRequest answer");
  facts_.push_back({"reply", std::string(1, c >= 0x20 && c < 0x7f ? c : '?')});
  if (c == 'S') {
    done_ = true;
    StartTlsStep s;
    s.action = StartTlsStep::Action::kStartTls;
    return s;
  }
  if (c == 'N') {
    return fail(
        "the PostgreSQL server answered N to SSLRequest: TLS is off there (ssl=off in "
        "postgresql.conf, or no certificate)");
  }
  if (c == 'E') return fail("the server answered SSLRequest with an error; is it PostgreSQL 7.x?");
  return fail("the server's answer to SSLRequest is not S or N; is it a PostgreSQL server?");
}

StartTlsStep StartTlsClient::on_mysql(std::string_view bytes) {
  switch (greeting_.fill(bytes)) {
    case MysqlPacketBuffer::Fill::kPartial:
      return {};
    case MysqlPacketBuffer::Fill::kTooLong:
      return fail("the server's greeting is longer than 64 KiB; is it a MySQL server?");
    case MysqlPacketBuffer::Fill::kOverrun:
      return fail("the server sent bytes after its greeting");
    case MysqlPacketBuffer::Fill::kComplete:
      break;
  }
  std::string_view p = greeting_.payload();
  if (p.empty()) return fail("the server sent an empty greeting");
  auto first = static_cast<uint8_t>(p[0]);
  if (first == starttls::kMysqlErr) {
    return fail("the server refused before its greeting: " +
                printable(starttls::mysql_err_message(p)));
  }
  facts_.push_back({"protocol_version", std::to_string(first)});
  if (first != 10) return fail("the greeting's protocol version is not 10; is it a MySQL server?");
  MysqlReader r(p);
  r.bytes(1);
  auto version = r.nul_string();
  if (!version) return fail("malformed greeting: server version is not NUL-terminated");
  facts_.push_back({"server_version", printable(*version)});
  auto id = r.uint(4);
  auto part1 = r.bytes(8);
  auto filler = r.bytes(1);
  auto caps_lo = r.uint(2);
  if (!id || !part1 || !filler || !caps_lo) return fail("malformed greeting: truncated");
  uint32_t caps = *caps_lo;
  if (r.bytes(3)) {
    if (auto hi = r.uint(2)) caps |= *hi << 16;
  }
  facts_.push_back({"connection_id", std::to_string(*id)});
  bool ssl = (caps & starttls::kClientSsl) != 0;
  facts_.push_back({"client_ssl_offered", ssl ? "true" : "false"});
  if (!ssl) {
    return fail(
        "the MySQL server does not offer TLS (no CLIENT_SSL in its greeting): have_ssl is "
        "DISABLED there; set ssl_cert and ssl_key in its configuration");
  }
  done_ = true;
  StartTlsStep s;
  s.action = StartTlsStep::Action::kStartTls;
  s.send = mysql_ssl_request(static_cast<uint8_t>(greeting_.seq() + 1));
  return s;
}

StartTlsStep StartTlsClient::on_nats(std::string_view bytes) {
  line_ += bytes;
  size_t end = line_.find('\n');
  if (end == std::string::npos) {
    if (line_.size() > kMaxBanner) {
      return fail("the server sent more than 64 KiB without ending its INFO line");
    }
    return {};
  }
  if (end + 1 != line_.size()) return fail("the server sent bytes after its INFO line");
  std::string_view line(line_.data(), end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.substr(0, 4) == "-ERR") return fail("the server refused: " + printable(line));
  if (line.substr(0, 5) != "INFO " && line.substr(0, 5) != "INFO\t") {
    return fail("the server's first line is not INFO; is it a NATS server?");
  }
  std::string_view obj = line.substr(5);
  for (const char* key :
       {"server_id", "server_name", "version", "tls_required", "tls_verify", "tls_available"}) {
    std::string v = json_field(obj, key);
    if (key[0] == 't' && v.empty()) v = "false";  // absent flags are false in NATS
    if (!v.empty()) facts_.push_back({key, printable(v)});
  }
  bool required = json_field(obj, "tls_required") == "true";
  bool available = json_field(obj, "tls_available") == "true";
  if (!required && !available) {
    return fail(
        "the NATS server offers no TLS (tls_required and tls_available are false); give it a "
        "tls {} block");
  }
  done_ = true;
  StartTlsStep s;
  s.action = StartTlsStep::Action::kStartTls;
  return s;
}

}  // namespace tlsgate::net
