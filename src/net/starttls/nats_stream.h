// The NATS server->client stream, as a byte-level state machine with no
// sockets (STYLE.md practice 19).
//
// nats-server sends INFO lines during a session, not only at its start
// (cluster topology in connect_urls, lame duck mode). To rewrite them the
// gate must find them, and must never take a message payload that happens
// to hold "INFO {" for one: NatsServerStream follows the protocol line by
// line and passes MSG/HMSG payloads by their declared lengths without
// looking into them. Control lines are held until complete, at most
// kMaxNatsLine bytes; payloads are never held (each byte passes as it is fed).
// An operation a server does not send (or a malformed one) ends the stream:
// after it the framing is unknown, so nothing more can be passed safely.
//
// rewrite_info() makes an INFO line fit for the client of the gate: the tls_*
// flags describe the client's link to the gate, connect_urls are the gate's
// advertised addresses (or gone), ws_connect_urls and ip (addresses of the
// backends the gate does not serve) are dropped, host and port name the
// first advertised address. Every other member (ldm, nonce, headers, ...)
// is kept byte for byte. One instance per connection, loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::net::starttls {

// A control line (INFO, CONNECT, MSG ...) longer than this ends the session.
inline constexpr size_t kMaxNatsLine = size_t{64} * 1024;
// nats-server's largest max_payload.
inline constexpr uint64_t kMaxNatsPayload = uint64_t{64} * 1024 * 1024;

struct NatsInfoRewrite {
  bool tls_required = false;
  bool tls_verify = false;     // the gate requires client certificates
  bool tls_available = false;  // OPTIONAL: plaintext or TLS
  // host:port items for connect_urls; empty: connect_urls is dropped.
  std::vector<std::string> advertise;
  // host and port written over the INFO's (the first advertised address);
  // empty host: kept.
  std::string host;
  uint16_t port = 0;
};

// LINE is "INFO <json>" without its line end; returns "INFO <json>\r\n" as the
// client gets it, or nullopt when LINE is not an INFO with one JSON object.
std::optional<std::string> rewrite_info(std::string_view line, const NatsInfoRewrite& how);

// The JSON object of an INFO or CONNECT line (case-insensitive verb, line
// end optional); nullopt when LINE is not that verb.
std::optional<std::string_view> nats_line_json(std::string_view line, std::string_view verb);

class NatsServerStream {
 public:
  explicit NatsServerStream(NatsInfoRewrite how) : how_(std::move(how)) {}

  // Appends to OUT what the client gets for IN. false: the stream broke the
  // protocol (error() says how); feed nothing more.
  bool feed(std::string_view in, std::string& out);
  const std::string& error() const { return error_; }
  // Bytes held now (an incomplete control line), <= kMaxNatsLine.
  size_t held() const { return line_.size(); }

 private:
  enum class State { kLine, kPayload, kPayloadCr, kPayloadLf, kBroken };
  bool on_line(std::string_view line, std::string& out);
  bool fail(std::string why);

  NatsInfoRewrite how_;
  State state_ = State::kLine;
  std::string line_;      // the control line being assembled
  uint64_t payload_ = 0;  // payload bytes still to pass
  std::string error_;
};

}  // namespace tlsgate::net::starttls
