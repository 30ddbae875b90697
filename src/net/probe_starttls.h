// The client side of the STARTTLS exchanges `tlsgate probe` speaks before its
// TLS handshake, as a byte-level state machine with no sockets (STYLE.md
// practice 19): PostgreSQL's SSLRequest, MySQL/MariaDB's greeting and SSL
// Request, NATS's INFO line.
//
// The caller sends what a step says, reads at most bytes_wanted() bytes from
// the server (never past what belongs to the exchange, so the first TLS byte
// stays in the socket) and feeds them to consume(). Along the way facts()
// collects what the server said before TLS ("reply": "S", "server_version":
// "10.11.6-MariaDB", "tls_required": "true", ...) in the order it said it;
// they are kept when the exchange fails, so a report can show them.
// Everything a server sends is bounded: kMaxBanner bytes at most.
// One instance per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/starttls/mysql_wire.h"

namespace tlsgate::net {

enum class StartTlsProtocol { kNone, kPostgres, kMysql, kNats };
// "postgres", "mysql", "nats" ("none").
std::string_view protocol_name(StartTlsProtocol p);

// One thing a server said before TLS: key and value, both printable text.
struct Fact {
  std::string key;
  std::string value;
  bool operator==(const Fact&) const = default;
};

struct StartTlsStep {
  enum class Action {
    kRead,      // send `send` (if any), then read up to bytes_wanted() and consume()
    kStartTls,  // send `send` (if any), then start the TLS handshake
    kFail,      // give up; `error` says what the server did
  };
  Action action = Action::kRead;
  std::string send;
  std::string error;
};

inline constexpr size_t kMaxBanner = 64 * 1024;

class StartTlsClient {
 public:
  explicit StartTlsClient(StartTlsProtocol protocol) : protocol_(protocol) {}

  // The first step: postgres sends its SSLRequest; mysql and nats read first.
  StartTlsStep start();
  StartTlsStep consume(std::string_view bytes);
  size_t bytes_wanted() const;
  const std::vector<Fact>& facts() const { return facts_; }

 private:
  StartTlsStep on_postgres(std::string_view bytes);
  StartTlsStep on_mysql(std::string_view bytes);
  StartTlsStep on_nats(std::string_view bytes);
  StartTlsStep fail(std::string why);

  StartTlsProtocol protocol_;
  std::vector<Fact> facts_;
  std::string line_;                      // nats: the INFO line so far
  starttls::MysqlPacketBuffer greeting_;  // mysql: the server's greeting
  bool done_ = false;
};

// Printable text only: control bytes and non-ASCII become '?' (text from a
// server reaches a terminal and a log).
std::string printable(std::string_view text);

}  // namespace tlsgate::net
