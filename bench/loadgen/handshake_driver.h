// HandshakeDriver: connections that each do one TLS handshake, one 1-byte
// echo through the system under test to the backend (so the system finished
// its side and connected upstream), then close with close_notify; each slot
// reconnects until the duration or count is reached, then the connections in
// flight finish. Used by the handshake and reload modes.
#pragma once

#include <vector>

#include "driver.h"

namespace tlsgate::bench {

class HandshakeDriver : public Driver {
 public:
  // Stops starting connections at `end` (monotonic ns), after `count`
  // successful ones (0: no limit) or after `max_failures` failures.
  HandshakeDriver(const ClientOptions& o, SSL_CTX* ctx, uint64_t end, uint64_t count,
                  uint64_t max_failures)
      : Driver(o, ctx), end_(end), count_(count), max_failures_(max_failures) {}

  uint64_t ops() const { return ops_; }
  uint64_t last_close() const { return last_close_; }
  std::vector<uint64_t>& latencies() { return latencies_; }

 protected:
  void on_established(Conn& c) override { queue_ping(c); }

  App on_app(Conn& c) override {
    if (c.out_off < c.out_len) {
      App a = write_out(c);
      if (a != App::kFinished) return a;
    }
    return read_in(c);
  }

  void on_closed(Conn& c, bool ok) override {
    uint64_t now = now_ns();
    if (ok) {
      ++ops_;
      last_close_ = now;
      if (latencies_.size() < kMaxSamples) latencies_.push_back(now - c.t_connect);
    }
    check_stop(now);
    open(c);
  }

  void on_open_failed(Conn& /*c*/) override { check_stop(now_ns()); }
  bool finished() const override { return stopping_ && active() == 0; }
  uint64_t next_tick() const override { return stopping_ ? UINT64_MAX : end_; }
  void on_tick(uint64_t now) override { check_stop(now); }

  void check_stop(uint64_t now) {
    if (now >= end_ || (count_ != 0 && ops_ >= count_) || failures() >= max_failures_) {
      stopping_ = true;
    }
  }

  static constexpr size_t kMaxSamples = 10'000'000;
  uint64_t end_;
  uint64_t count_;
  uint64_t max_failures_;
  uint64_t ops_ = 0;
  uint64_t last_close_ = 0;
  std::vector<uint64_t> latencies_;
};

}  // namespace tlsgate::bench
