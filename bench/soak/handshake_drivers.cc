#include "handshake_drivers.h"

#include <algorithm>

namespace tlsgate::bench {
namespace {

constexpr uint64_t kSweepEvery = 250 * kMilli;
constexpr size_t kMaxSamples = 2'000'000;
constexpr const char* kDeadline = "client-side deadline";

const char* phase_name(const Conn& c) {
  switch (c.phase) {
    case Conn::Phase::kConnecting:
      return "connecting";
    case Conn::Phase::kHandshaking:
      return "in the TLS handshake";
    default:
      return "waiting for the echo";
  }
}

std::string deadline_text(const Conn& c, uint64_t timeout) {
  return std::string("still ") + phase_name(c) + " " + std::to_string(timeout / kSecond) +
         " s after connect (" + kDeadline + ")";
}

}  // namespace

// ---- HandshakeLoop -----------------------------------------------------------

HandshakeLoop::HandshakeLoop(const ClientOptions& o, SSL_CTX* ctx, uint64_t gap, uint64_t max_ops,
                             uint64_t timeout)
    : Driver(o, ctx), gap_(gap), max_ops_(max_ops), timeout_(timeout) {}

App HandshakeLoop::on_app(Conn& c) {
  if (c.out_off < c.out_len) {
    App a = write_out(c);
    if (a != App::kFinished) return a;
  }
  return read_in(c);  // kFinished closes with close_notify
}

void HandshakeLoop::again(Conn& c, uint64_t now) {
  if (stop_.load() || (max_ops_ != 0 && ops_.load() >= max_ops_)) {
    stopping_ = true;
    return;
  }
  if (gap_ == 0) {
    open(c);
  } else {
    due_.push({now + gap_, c.slot, c.gen, 0});
  }
}

void HandshakeLoop::on_closed(Conn& c, bool ok) {
  uint64_t now = now_ns();
  if (ok) {
    ops_.fetch_add(1);
    last_ok_.store(now);
    if (samples_.size() < kMaxSamples) samples_.emplace_back(c.t_connect, now - c.t_connect);
  } else {
    failures_.add(now, close_reason());
  }
  again(c, now);
}

void HandshakeLoop::on_open_failed(Conn& c) {
  uint64_t now = now_ns();
  failures_.add(now, close_reason());
  // A connect(2) that fails at once would spin: wait a little even with no gap.
  if (!stop_.load()) due_.push({now + std::max<uint64_t>(gap_, 10 * kMilli), c.slot, c.gen, 0});
}

uint64_t HandshakeLoop::next_tick() const {
  if (stop_.load() && !stopping_) return 0;
  return std::min(due_.next(), next_sweep_);
}

void HandshakeLoop::on_tick(uint64_t now) {
  if (stop_.load()) stopping_ = true;  // connections in flight finish; none start
  Due d;
  while (due_.pop_due(now, &d)) {
    Conn& c = conns_[d.slot];
    if (c.gen == d.gen && c.phase == Conn::Phase::kFree && !stopping_) open(c);
  }
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepEvery;
  for (auto& c : conns_) {
    if (c.phase != Conn::Phase::kFree && now > c.t_connect + timeout_) {
      close(c, false, deadline_text(c, timeout_));
    }
  }
}

// ---- BadCertDriver -----------------------------------------------------------

BadCertDriver::BadCertDriver(const ClientOptions& o, SSL_CTX* ctx, uint64_t total, uint64_t timeout)
    : Driver(o, ctx), total_(total), timeout_(timeout) {}

void BadCertDriver::start() {
  next_sweep_ = now_ns() + kSweepEvery;
  for (auto& c : conns_) next(c);
}

void BadCertDriver::next(Conn& c) {
  if (attempted_ >= total_) {
    if (active() == 0 && finished_at_ == 0) finished_at_ = now_ns();
    return;
  }
  ++attempted_;
  open(c);
}

App BadCertDriver::on_app(Conn& c) {
  if (c.out_off < c.out_len) {
    App a = write_out(c);
    if (a != App::kFinished) return a;
  }
  return read_in(c);
}

void BadCertDriver::on_closed(Conn& c, bool ok) {
  if (ok) {
    ++accepted_;  // the echo came back: the gate let the certificate in
  } else if (close_reason().find(kDeadline) != std::string::npos) {
    ++timeouts_;
  } else {
    refused_.add(now_ns(), close_reason());
  }
  settled_.fetch_add(1);
  next(c);
}

void BadCertDriver::on_open_failed(Conn& c) {
  ++connect_failures_;
  settled_.fetch_add(1);
  next(c);
}

void BadCertDriver::on_tick(uint64_t now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepEvery;
  for (auto& c : conns_) {
    if (c.phase != Conn::Phase::kFree && now > c.t_connect + timeout_) {
      close(c, false, deadline_text(c, timeout_));
    }
  }
}

}  // namespace tlsgate::bench
