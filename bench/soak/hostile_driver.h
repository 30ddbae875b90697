// HostileDriver: clients that misbehave in the three ways a gate must
// survive, each slot reconnecting as soon as the gate has dropped it,
// until request_stop():
//
//   slowloris  plain TCP, a real ClientHello one byte every `byte_every`;
//   silent     plain TCP, connects and sends nothing;
//   nonreader  finishes the TLS handshake, asks the backend to stream
//              ('G') and never reads, so the gate's writes to it block.
//
// The gate must close every one of them by a timeout. For the first two
// the client sees the close (EOF or reset) and records the connection's
// lifetime. A non-reader cannot see a close while its receive window is
// shut (the FIN waits behind the data), so once its receive queue has not
// grown for `drain_after` it starts reading: a gate that closed it yields
// an EOF (or a reset) after what was in flight; one that did not keeps
// streaming, and after `drain_limit` (or `drain_cap` bytes) the connection
// counts as not closed. The queue, not the handshake, starts the clock:
// the gate's idle_timeout counts from the last byte it moved, and a backend
// starved of CPU (the streams' one runs under SCHED_IDLE) may start its
// stream seconds after the handshake.
// A plain connection the gate leaves open for `raw_limit` counts as not
// closed too, so every connection ends.
#pragma once

#include <array>
#include <atomic>
#include <string>
#include <vector>

#include "driver.h"
#include "due_queue.h"
#include "tally.h"

namespace tlsgate::bench {

struct HostileOptions {
  size_t slowloris = 0;
  size_t silent = 0;
  size_t nonreaders = 0;
  uint64_t byte_every = kSecond;
  uint64_t drain_after = 7 * kSecond;
  uint64_t drain_limit = 3 * kSecond;
  uint64_t drain_cap = uint64_t{64} << 20;
  uint64_t raw_limit = 60 * kSecond;
  uint64_t open_timeout = 10 * kSecond;  // a non-reader's connect and handshake
  uint16_t nonreader_port = 0;           // 0: the client options' port
};

class HostileDriver : public Driver {
 public:
  enum Role { kSlowloris = 0, kSilent = 1, kNonReader = 2 };
  static constexpr int kRoles = 3;
  static constexpr size_t kPortsKept = 4;
  static const char* role_name(int role);

  struct RoleStats {
    uint64_t opened = 0;                     // connected (TLS: handshake done)
    uint64_t closed_by_gate = 0;             // the client saw the gate's EOF or reset
    uint64_t not_closed = 0;                 // given up on while the gate kept it open
    std::vector<uint16_t> not_closed_ports;  // the first few, to find in the gate's log
    Tally failed;                            // connect or handshake failures
    Tally how;                               // what the gate's close looked like
    std::vector<uint64_t> lifetimes;         // connect to close seen, ns (plain TCP roles)
    uint64_t drained_bytes = 0;              // non-readers: bytes read after the gate stopped
    uint64_t stream_end_max = 0;             // non-readers: connect to the queue's last growth, ns
  };

  HostileDriver(const ClientOptions& o, SSL_CTX* ctx, const HostileOptions& h);

  void request_stop() { stop_.store(true); }              // any thread
  uint64_t open_now() const { return open_now_.load(); }  // any thread

  // After run().
  const RoleStats& stats(int role) const { return stats_[static_cast<size_t>(role)]; }
  // Connections run() had to cut at its deadline: the gate never closed them.
  uint64_t open_at_end(int role) const { return open_[static_cast<size_t>(role)]; }
  size_t hello_size() const { return hello_.size(); }

 protected:
  void on_established(Conn& c) override;
  App on_app(Conn& c) override;
  void on_closed(Conn& c, bool ok) override;
  void on_open_failed(Conn& c) override;
  uint16_t port_for(const Conn& c) const override;
  bool finished() const override { return stopping_ && active() == 0; }
  uint64_t next_tick() const override;
  void on_tick(uint64_t now) override;

 private:
  enum Kind { kByte, kDrain, kReopen };
  Role role_of(const Conn& c) const;
  RoleStats& st(const Conn& c) { return stats_[role_of(c)]; }
  App raw_app(Conn& c);
  void gate_closed(Conn& c, const std::string& how);
  void give_up(Conn& c);
  void send_byte(Conn& c, uint64_t now);
  void sweep(uint64_t now);
  void finish(Conn& c);

  HostileOptions h_;
  std::string hello_;  // the ClientHello the slowloris clients trickle
  DueQueue due_;
  std::vector<bool> counted_;         // per slot: this connection's end is already counted
  std::vector<bool> established_;     // per slot: on_established ran for this connection
  std::vector<int> rx_queued_;        // per non-reader slot: bytes in its receive queue
  std::vector<uint64_t> rx_grew_at_;  // and when that last changed
  std::array<RoleStats, kRoles> stats_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> open_now_{0};
  std::array<uint64_t, kRoles> open_{};
  uint64_t next_sweep_ = 0;
};

}  // namespace tlsgate::bench
