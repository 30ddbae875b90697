// Short connections through the gate, one TLS handshake each.
//
// HandshakeLoop: the good clients that keep connecting while something else
// goes on (a bad-certificate storm, backend restarts, SIGHUP): each slot
// connects, handshakes, sends the backend's one-byte echo and waits for it,
// closes with close_notify and starts again after `gap`, until stopped or
// `max_ops` succeeded. Every success is timed from connect(2).
//
// BadCertDriver: `total` handshakes with a client certificate the gate must
// refuse, `concurrency` at a time. Under TLS 1.3 the client finishes its
// side before the server has judged its certificate, so each attempt also
// sends the one-byte echo: a gate that refused sends an alert or closes
// (refused); an echo that comes back means the certificate was let in
// (accepted, a security failure).
//
// Both close a connection that has not finished within `timeout` of
// connect(2) (client-side deadline), so every attempt ends.
#pragma once

#include <atomic>
#include <utility>
#include <vector>

#include "driver.h"
#include "due_queue.h"
#include "tally.h"

namespace tlsgate::bench {

class HandshakeLoop : public Driver {
 public:
  HandshakeLoop(const ClientOptions& o, SSL_CTX* ctx, uint64_t gap, uint64_t max_ops,
                uint64_t timeout);

  // Any thread.
  void request_stop() { stop_.store(true); }
  uint64_t ops_now() const { return ops_.load(); }
  uint64_t last_ok_at() const { return last_ok_.load(); }

  // After run().
  const Tally& failed() const { return failures_; }
  // (connect time, connect to echo answered) in ns.
  const std::vector<std::pair<uint64_t, uint64_t>>& samples() const { return samples_; }

 protected:
  void on_established(Conn& c) override { queue_ping(c); }
  App on_app(Conn& c) override;
  void on_closed(Conn& c, bool ok) override;
  void on_open_failed(Conn& c) override;
  bool finished() const override { return stopping_ && active() == 0; }
  uint64_t next_tick() const override;
  void on_tick(uint64_t now) override;

 private:
  void again(Conn& c, uint64_t now);

  uint64_t gap_;
  uint64_t max_ops_;
  uint64_t timeout_;
  DueQueue due_;
  uint64_t next_sweep_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> last_ok_{0};
  Tally failures_;
  std::vector<std::pair<uint64_t, uint64_t>> samples_;
};

class BadCertDriver : public Driver {
 public:
  BadCertDriver(const ClientOptions& o, SSL_CTX* ctx, uint64_t total, uint64_t timeout);

  uint64_t settled_now() const { return settled_.load(); }  // any thread

  // After run().
  uint64_t attempted() const { return attempted_; }
  uint64_t refused() const { return refused_.count(); }
  uint64_t accepted() const { return accepted_; }
  uint64_t timeouts() const { return timeouts_; }
  uint64_t connect_failures() const { return connect_failures_; }
  const Tally& refusals() const { return refused_; }  // by what the client saw
  uint64_t finished_at() const { return finished_at_; }

 protected:
  void start() override;
  void on_established(Conn& c) override { queue_ping(c); }
  App on_app(Conn& c) override;
  void on_closed(Conn& c, bool ok) override;
  void on_open_failed(Conn& c) override;
  bool finished() const override { return attempted_ >= total_ && active() == 0; }
  uint64_t next_tick() const override { return next_sweep_; }
  void on_tick(uint64_t now) override;

 private:
  void next(Conn& c);

  uint64_t total_;
  uint64_t timeout_;
  uint64_t next_sweep_ = 0;
  uint64_t attempted_ = 0;
  uint64_t accepted_ = 0;
  uint64_t timeouts_ = 0;
  uint64_t connect_failures_ = 0;
  uint64_t finished_at_ = 0;
  std::atomic<uint64_t> settled_{0};
  Tally refused_;
};

}  // namespace tlsgate::bench
