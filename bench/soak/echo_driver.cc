#include "echo_driver.h"

#include <openssl/err.h>

#include <algorithm>

namespace tlsgate::bench {
namespace {

constexpr size_t kMaxSamples = 2'000'000;
constexpr uint64_t kSweepEvery = 250 * kMilli;
constexpr int kReadsPerStep = 64;

ClientOptions with_slots(ClientOptions o, size_t n) {
  o.concurrency = n;
  return o;
}

}  // namespace

EchoDriver::EchoDriver(const ClientOptions& o, SSL_CTX* ctx, const EchoOptions& e)
    : Driver(with_slots(o, e.connections), ctx),
      e_(e),
      out_(e.connections),
      seq_(e.connections, 0),
      in_(std::max<size_t>(e.size, 1)),
      settled_slot_(e.connections, false) {}

void EchoDriver::start() {
  started_at_ = now_ns();
  next_sweep_ = started_at_ + kSweepEvery;
  for (size_t i = 0; i < e_.in_flight && next_ < conns_.size(); ++i) open(conns_[next_++]);
}

void EchoDriver::settle_one(size_t slot) {
  if (settled_slot_[slot]) return;
  settled_slot_[slot] = true;
  ++settled_;
  if (next_ < conns_.size() && !stopping_) open(conns_[next_++]);
  if (settled_ == conns_.size()) {
    all_tried_at_ = now_ns();
    all_tried_.store(true);
  }
}

// The message repeats one byte, new for each echo, so an echo that comes
// back on the wrong connection or out of order shows.
void EchoDriver::fill(Conn& c, bool first) {
  auto& msg = out_[c.slot];
  uint8_t b = ++seq_[c.slot];
  msg.assign(e_.size + (first ? 1 : 0), static_cast<char>(b));
  if (first) msg[0] = 'E';  // the backend's echo mode
  c.out = msg.data();
  c.out_len = msg.size();
  c.out_off = 0;
  c.in_want = e_.size;
  c.in_got = 0;
}

void EchoDriver::on_established(Conn& c) {
  fill(c, true);
  c.sent_at = now_ns();
}

App EchoDriver::on_app(Conn& c) {
  if (c.out_off < c.out_len) {
    App a = write_out(c);
    if (a != App::kFinished) return a;
  }
  if (c.in_want > 0) return read_echo(c);
  // Between echoes nothing may arrive; an EOF or an error ends the connection.
  ERR_clear_error();
  char byte = 0;
  size_t n = 0;
  int rc = SSL_read_ex(c.ssl, &byte, 1, &n);
  if (rc == 1) {
    close(c, false, "the gate sent bytes nobody asked for");
    return App::kBlocked;
  }
  return ssl_status(c, rc, "read between echoes");
}

App EchoDriver::read_echo(Conn& c) {
  for (int i = 0; i < kReadsPerStep && c.in_got < c.in_want; ++i) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(c.ssl, in_.data(), std::min(in_.size(), c.in_want - c.in_got), &n);
    if (rc != 1) return ssl_status(c, rc, "echo read");
    for (size_t k = 0; k < n; ++k) {
      if (static_cast<uint8_t>(in_[k]) != seq_[c.slot]) {
        ++bad_echoes_;
        close(c, false, "the echo came back with other bytes than were sent");
        return App::kBlocked;
      }
    }
    c.in_got += n;
  }
  if (c.in_got < c.in_want) return App::kMore;
  uint64_t now = now_ns();
  c.in_want = 0;
  echoes_.fetch_add(1, std::memory_order_relaxed);
  uint64_t next = 0;
  if (!c.held) {  // the first echo: the path through the gate to the backend works
    c.held = true;
    ++ever_opened_;
    open_now_.fetch_add(1);
    last_open_at_.store(now);
    settle_one(c.slot);
    next = now + (c.slot * 2654435761ULL) % std::max<uint64_t>(e_.interval, 1);  // staggered
  } else {
    if (samples_.size() < kMaxSamples) samples_.emplace_back(c.sent_at, now - c.sent_at);
    next = c.sent_at + e_.interval;
    if (next < now) {
      ++late_;
      next = now;
    }
  }
  due_.push({next, c.slot, c.gen, kSend});
  return App::kMore;  // reads on: an EOF that came with the echo is seen now
}

void EchoDriver::failed_once(Conn& c, uint64_t now) {
  failures_.add(now, close_reason());
  failed_.fetch_add(1);
  if (c.held) broken_.add(now, close_reason());
}

void EchoDriver::on_closed(Conn& c, bool ok) {
  uint64_t now = now_ns();
  if (!ok) failed_once(c, now);
  if (c.held) open_now_.fetch_sub(1);
  settle_one(c.slot);
  if (e_.reconnect && !stopping_) due_.push({now + e_.reconnect_delay, c.slot, c.gen, kReopen});
}

void EchoDriver::on_open_failed(Conn& c) {
  uint64_t now = now_ns();
  failed_once(c, now);
  settle_one(c.slot);
  if (e_.reconnect && !stopping_) due_.push({now + e_.reconnect_delay, c.slot, c.gen, kReopen});
}

uint64_t EchoDriver::next_tick() const {
  if (stop_.load() && !stopping_) return 0;
  if (stopping_) return UINT64_MAX;
  return std::min(due_.next(), next_sweep_);
}

void EchoDriver::on_tick(uint64_t now) {
  if (stop_.load() && !stopping_) {
    stopping_ = true;
    for (auto& c : conns_) close(c, true);  // close_notify; free slots are skipped
    return;
  }
  Due d;
  while (due_.pop_due(now, &d)) {
    Conn& c = conns_[d.slot];
    if (c.gen != d.gen || stopping_) continue;
    if (d.kind == kReopen) {
      if (c.phase == Conn::Phase::kFree) open(c);
      continue;
    }
    if (c.phase != Conn::Phase::kApp || c.in_want != 0) continue;
    if (now > d.at + e_.interval) ++late_;
    fill(c, false);
    c.sent_at = d.at;
    kick(c);
  }
  if (now >= next_sweep_) sweep(now);
}

void EchoDriver::sweep(uint64_t now) {
  next_sweep_ = now + kSweepEvery;
  for (auto& c : conns_) {
    if (c.phase == Conn::Phase::kFree) continue;
    if (!c.held && now > c.t_connect + e_.handshake_timeout) {
      const char* where = c.phase == Conn::Phase::kConnecting    ? "connecting"
                          : c.phase == Conn::Phase::kHandshaking ? "in the TLS handshake"
                                                                 : "waiting for the first echo";
      close(c, false,
            std::string("still ") + where + " " + std::to_string(e_.handshake_timeout / kSecond) +
                " s after connect (client-side deadline)");
    } else if (c.held && c.in_want > 0 && now > c.sent_at + e_.echo_timeout) {
      close(c, false,
            "echo not answered within " + std::to_string(e_.echo_timeout / kSecond) +
                " s (client-side deadline)");
    }
  }
}

}  // namespace tlsgate::bench
