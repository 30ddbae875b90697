// EchoDriver: long-lived TLS connections through the gate, each echoing a
// small message on its own fixed schedule — the well-behaved clients of
// every soak phase.
//
// The slots open at most `in_flight` at a time; a slot counts as open once
// its first echo came back (so the gate finished its handshake and reached
// the backend). From then on it sends `size` bytes every `interval`
// (staggered over the slots) and checks that exactly those bytes return;
// the latency of each echo runs from the time it was due. A slot that
// fails or closes is counted; with `reconnect` it is reopened after
// `reconnect_delay`. request_stop() (any thread) closes every connection
// with close_notify; run() returns once they are all closed.
//
// Client-side deadlines make every wait finite: a slot that has not had
// its first echo `handshake_timeout` after connect(2), or whose echo is
// `echo_timeout` late, is closed as failed.
#pragma once

#include <atomic>
#include <utility>
#include <vector>

#include "driver.h"
#include "due_queue.h"
#include "tally.h"

namespace tlsgate::bench {

struct EchoOptions {
  size_t connections = 1;
  size_t in_flight = 64;
  uint64_t interval = kSecond;
  size_t size = 64;
  bool reconnect = false;
  uint64_t reconnect_delay = 100 * kMilli;
  uint64_t handshake_timeout = 20 * kSecond;
  uint64_t echo_timeout = 10 * kSecond;
};

class EchoDriver : public Driver {
 public:
  EchoDriver(const ClientOptions& o, SSL_CTX* ctx, const EchoOptions& e);

  // Any thread.
  void request_stop() { stop_.store(true); }
  uint64_t open_now() const { return open_now_.load(); }
  uint64_t echoes_now() const { return echoes_.load(); }
  uint64_t failures_now() const { return failed_.load(); }
  // Every slot was opened once and has either had its first echo or failed.
  bool all_tried() const { return all_tried_.load(); }
  uint64_t last_open_at() const { return last_open_at_.load(); }

  // After run().
  uint64_t ever_opened() const { return ever_opened_; }
  uint64_t echoes() const { return echoes_.load(); }
  uint64_t bad_echoes() const { return bad_echoes_; }
  uint64_t late() const { return late_; }
  const Tally& failed() const { return failures_; }  // failed connects, handshakes, echoes
  const Tally& broken() const { return broken_; }    // of those: after the first echo
  // (due time, latency) of every echo, in ns.
  const std::vector<std::pair<uint64_t, uint64_t>>& samples() const { return samples_; }
  uint64_t seconds_to_open_all() const { return all_tried_at_ - started_at_; }

 protected:
  void start() override;
  void on_established(Conn& c) override;
  App on_app(Conn& c) override;
  void on_closed(Conn& c, bool ok) override;
  void on_open_failed(Conn& c) override;
  bool finished() const override { return stopping_ && active() == 0; }
  uint64_t next_tick() const override;
  void on_tick(uint64_t now) override;

 private:
  enum Kind { kSend, kReopen };
  void settle_one(size_t slot);
  void failed_once(Conn& c, uint64_t now);
  void fill(Conn& c, bool first);
  App read_echo(Conn& c);
  void sweep(uint64_t now);

  EchoOptions e_;
  DueQueue due_;
  std::vector<std::vector<char>> out_;  // per slot: the message in flight
  std::vector<uint8_t> seq_;            // per slot: the byte the message repeats
  std::vector<char> in_;
  std::vector<bool> settled_slot_;  // the slot's first attempt ended
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> open_now_{0};
  std::atomic<uint64_t> echoes_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<bool> all_tried_{false};
  std::atomic<uint64_t> last_open_at_{0};
  size_t next_ = 0;
  size_t settled_ = 0;
  uint64_t ever_opened_ = 0;
  uint64_t bad_echoes_ = 0;
  uint64_t late_ = 0;
  uint64_t next_sweep_ = 0;
  uint64_t started_at_ = 0;
  uint64_t all_tried_at_ = 0;
  Tally failures_;
  Tally broken_;
  std::vector<std::pair<uint64_t, uint64_t>> samples_;
};

}  // namespace tlsgate::bench
