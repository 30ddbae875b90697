// The NATS streams of the relay, as byte-level state machines with no
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
// NatsClientStream follows the other direction the same way (NatsFraming)
// when a user_map is set, to keep a second CONNECT from the backend.
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
  // empty host: the INFO's host and port (the backend's) are dropped.
  std::string host;
  uint16_t port = 0;
};

// LINE is "INFO <json>" without its line end; returns "INFO <json>\r\n" as the
// client gets it, or nullopt when LINE is not an INFO with one JSON object.
std::optional<std::string> rewrite_info(std::string_view line, const NatsInfoRewrite& how);

// The JSON object of an INFO or CONNECT line (case-insensitive verb, line
// end optional); nullopt when LINE is not that verb.
std::optional<std::string_view> nats_line_json(std::string_view line, std::string_view verb);

// Splits one direction of a NATS connection into control lines and message
// payloads, as nats-server's parser does: a control line ends at '\n' and is
// held until complete, at most kMaxNatsLine bytes before the '\n' (wherever
// the reads split it); a payload of the length its line declared, followed
// by CRLF, is never held nor looked into (with an output it is appended as
// it is fed, without one it is skipped by length).
// The subclass reads each control line; after a fault nothing more is fed.
class NatsFraming {
 public:
  const std::string& error() const { return error_; }
  // Bytes held now (an incomplete control line), <= kMaxNatsLine.
  size_t held() const { return line_.size(); }

 protected:
  // SIDE names the sender in errors ("server", "client").
  explicit NatsFraming(std::string_view side) : side_(side) {}
  ~NatsFraming() = default;
  NatsFraming(const NatsFraming&) = delete;
  NatsFraming& operator=(const NatsFraming&) = delete;

  // Feeds IN; OUT (may be null) gets what on_line() writes and the payloads.
  bool frame(std::string_view in, std::string* out);
  // LINE ends with '\n'; false (after fail()) ends the stream.
  virtual bool on_line(std::string_view line, std::string* out) = 0;
  // From on_line(): a payload of SIZE bytes and CRLF follows the line.
  void expect_payload(uint64_t size);
  bool fail(std::string why);

 private:
  enum class State { kLine, kPayload, kPayloadCr, kPayloadLf, kBroken };
  std::string_view side_;
  State state_ = State::kLine;
  std::string line_;      // the control line being assembled
  uint64_t payload_ = 0;  // payload bytes still to pass
  std::string error_;
};

class NatsServerStream final : public NatsFraming {
 public:
  explicit NatsServerStream(NatsInfoRewrite how) : NatsFraming("server"), how_(std::move(how)) {}

  // Appends to OUT what the client gets for IN. false: the stream broke the
  // protocol (error() says how); feed nothing more.
  bool feed(std::string_view in, std::string& out) { return frame(in, &out); }

 private:
  bool on_line(std::string_view line, std::string* out) override;

  NatsInfoRewrite how_;
};

// The client->server stream after the first CONNECT, followed (never
// changed) when a user_map is set, so that no later CONNECT reaches the
// backend: nats-server would process it and log the connection in again as
// whatever user it names, past the check of the first. No client sends two
// (a reconnect is a new connection), so a second CONNECT is refused outright
// rather than checked. The ops a client sends are known (CONNECT, PUB, HPUB,
// SUB, UNSUB, PING, PONG); PUB and HPUB payloads are skipped by length, so a
// payload holding "CONNECT {...}" is data, as it is to the server. Anything
// else, or a malformed PUB/HPUB, ends the stream: past it the framing is
// unknown. One instance per connection, loop thread only.
class NatsClientStream final : public NatsFraming {
 public:
  NatsClientStream() : NatsFraming("client") {}

  // Follows IN, which passes unchanged. false: the client sent a CONNECT
  // (refused_connect()) or broke the protocol; error() says which, and
  // nothing more is to be fed or relayed.
  bool feed(std::string_view in) { return frame(in, nullptr); }
  bool refused_connect() const { return refused_connect_; }

 private:
  bool on_line(std::string_view line, std::string* out) override;

  bool refused_connect_ = false;
};

}  // namespace tlsgate::net::starttls
