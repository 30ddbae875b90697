// Driver: the TLS client engine every client mode builds on. It keeps a fixed
// number of connection slots on one edge-triggered epoll set; each slot
// connects, runs the TLS 1.3 handshake and then hands the connection to the
// mode (on_established, on_app), which says when it is finished. A mode
// reopens a slot from on_closed while it wants more work.
//
// The loop runs until finished() or the hard deadline; every pass is bounded
// (a connection gets a fixed number of steps per event before it is queued
// behind the others). Single-threaded: one Driver per process.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "poller.h"
#include "util.h"

namespace tlsgate::bench {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ca;                 // verify the server against this CA ("" = do not verify)
  std::string sni = "localhost";  // SNI and the name checked on the certificate
  bool resume = false;            // keep each slot's latest ticket and offer it
  size_t concurrency = 1;
  bool quiet = false;  // the caller reports failures itself: none on stderr
};

// Reads the options every client mode shares (--host --port --ca --sni
// --concurrency) from args.
ClientOptions client_options(const Args& args, long default_concurrency);
// The option names client_options reads, to extend a mode's list.
std::vector<std::string> client_option_names(std::vector<std::string> more);

enum class App { kBlocked, kFinished, kFailed, kMore };

struct Conn {
  enum class Phase { kFree, kConnecting, kHandshaking, kApp };
  size_t slot = 0;
  bool raw = false;  // plain TCP: kApp right after connect, no TLS (set by the mode)
  int fd = -1;
  SSL* ssl = nullptr;
  uint32_t gen = 0;
  Phase phase = Phase::kFree;
  bool queued = false;
  uint64_t t_connect = 0;          // connect() started
  uint64_t t_handshake = 0;        // handshake finished
  SSL_SESSION* session = nullptr;  // the slot's latest ticket (resume)
  // Mode state: the message being written and how much of a reply is in.
  const char* out = nullptr;
  size_t out_len = 0;
  size_t out_off = 0;
  size_t in_want = 0;
  size_t in_got = 0;
  uint64_t sent_at = 0;
  uint64_t next_send = 0;
  bool held = false;
  uint64_t bytes = 0;
};

class Driver {
 public:
  Driver(const ClientOptions& options, SSL_CTX* ctx);
  virtual ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Opens every slot and runs until finished() or hard_deadline.
  void run(uint64_t hard_deadline);

  uint64_t failures() const { return failures_; }
  uint64_t handshakes() const { return handshakes_; }
  uint64_t resumed() const { return resumed_; }
  const std::string& first_error() const { return first_error_; }
  bool timed_out() const { return timed_out_; }

 protected:
  virtual void on_established(Conn& c) = 0;
  virtual App on_app(Conn& c) = 0;
  // After a slot closed (ok: the mode finished it); may call open(c).
  virtual void on_closed(Conn& c, bool ok) = 0;
  virtual bool finished() const = 0;
  // The next time on_tick wants to run (UINT64_MAX: none).
  virtual uint64_t next_tick() const { return UINT64_MAX; }
  virtual void on_tick(uint64_t /*now*/) {}
  // Called once when the handshake completed, before on_established.
  virtual void on_handshake(Conn& /*c*/) {}
  // Opens the first connections; by default every slot.
  virtual void start();
  // connect() itself failed (counted); the slot stays free.
  virtual void on_open_failed(Conn& /*c*/) {}
  // The port slot c connects to; by default the options' port.
  virtual uint16_t port_for(const Conn& /*c*/) const { return options_.port; }

  void open(Conn& c);
  void close(Conn& c, bool ok, const std::string& why = "");
  // Writes c.out from c.out_off; kFinished when all is written.
  App write_out(Conn& c);
  // Queues the backend's echo-mode ping ("E", then one byte) and waits for
  // its one-byte answer: the traffic of one handshake-mode connection.
  static void queue_ping(Conn& c) {
    static constexpr char kPing[] = "Ex";
    c.out = kPing;
    c.out_len = 2;
    c.out_off = 0;
    c.in_want = 1;
    c.in_got = 0;
  }
  // Reads until c.in_want bytes arrived (into scratch); kFinished then.
  App read_in(Conn& c);
  // Reads whatever is there, counting it in c.bytes, up to a bounded amount.
  App read_count(Conn& c);
  // What an SSL_* return code means: kBlocked for a retry, else kFailed with
  // last_error() saying why.
  App ssl_status(Conn& c, int rc, const char* what);
  const std::string& last_error() const { return last_error_; }
  // Why the slot being closed closed ("" when the mode finished it); valid
  // in on_closed and on_open_failed.
  const std::string& close_reason() const { return close_reason_; }
  void wake(Conn& c);  // drive c again on the next pass
  void kick(Conn& c) { drive(c); }
  size_t active() const { return active_; }

  ClientOptions options_;
  std::vector<Conn> conns_;
  bool stopping_ = false;  // no new connections

 private:
  void drive(Conn& c);
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  SSL_CTX* ctx_;
  Poller poller_;
  std::deque<size_t> ready_;
  std::vector<char> scratch_;
  uint64_t failures_ = 0;
  uint64_t handshakes_ = 0;
  uint64_t resumed_ = 0;
  std::string first_error_;
  std::string last_error_;
  std::string close_reason_;
  size_t active_ = 0;
  bool timed_out_ = false;
};

}  // namespace tlsgate::bench
