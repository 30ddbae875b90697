#include "hostile_driver.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <openssl/bio.h>

namespace tlsgate::bench {
namespace {

constexpr uint64_t kSweepEvery = 100 * kMilli;
constexpr uint64_t kReconnectAfterFailure = 50 * kMilli;
constexpr size_t kMaxLifetimes = 1'000'000;

ClientOptions with_slots(ClientOptions o, size_t n) {
  o.concurrency = n;
  o.quiet = true;
  return o;
}

// The first flight of a TLS client with the soak's settings, as bytes.
std::string client_hello(SSL_CTX* ctx) {
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (ssl == nullptr || in == nullptr || out == nullptr) die("cannot build a ClientHello");
  SSL_set_bio(ssl, in, out);  // ssl owns both now
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // writes the ClientHello, then wants the server's answer
  std::string hello(static_cast<size_t>(BIO_pending(out)), '\0');
  int n = BIO_read(out, hello.data(), static_cast<int>(hello.size()));
  SSL_free(ssl);
  openssl_errors();
  if (n <= 0) die("cannot build a ClientHello");
  hello.resize(static_cast<size_t>(n));
  return hello;
}

}  // namespace

const char* HostileDriver::role_name(int role) {
  switch (role) {
    case kSlowloris:
      return "slowloris";
    case kSilent:
      return "silent";
    default:
      return "nonreader";
  }
}

HostileDriver::HostileDriver(const ClientOptions& o, SSL_CTX* ctx, const HostileOptions& h)
    : Driver(with_slots(o, h.slowloris + h.silent + h.nonreaders), ctx),
      h_(h),
      hello_(client_hello(ctx)),
      counted_(conns_.size(), false),
      established_(conns_.size(), false),
      rx_queued_(conns_.size(), 0),
      rx_grew_at_(conns_.size(), 0) {
  for (auto& c : conns_) c.raw = role_of(c) != kNonReader;
}

uint16_t HostileDriver::port_for(const Conn& c) const {
  return role_of(c) == kNonReader && h_.nonreader_port != 0 ? h_.nonreader_port
                                                            : Driver::port_for(c);
}

HostileDriver::Role HostileDriver::role_of(const Conn& c) const {
  if (c.slot < h_.slowloris) return kSlowloris;
  if (c.slot < h_.slowloris + h_.silent) return kSilent;
  return kNonReader;
}

void HostileDriver::on_established(Conn& c) {
  uint64_t now = now_ns();
  counted_[c.slot] = false;
  established_[c.slot] = true;
  ++st(c).opened;
  ++open_[role_of(c)];
  open_now_.fetch_add(1);
  c.held = false;  // non-readers: not draining yet
  switch (role_of(c)) {
    case kSlowloris:
      c.out_off = 0;  // the next byte of hello_ to send
      send_byte(c, now);
      break;
    case kSilent:
      break;
    case kNonReader: {
      static constexpr char kStream[] = "G";  // the backend writes as fast as it can
      c.out = kStream;
      c.out_len = 1;
      c.out_off = 0;
      rx_queued_[c.slot] = 0;
      rx_grew_at_[c.slot] = now;
      due_.push({now + h_.drain_after, c.slot, c.gen, kDrain});
      break;
    }
  }
}

void HostileDriver::send_byte(Conn& c, uint64_t now) {
  if (c.out_off >= hello_.size()) return;  // all sent: now only the gate's answer can come
  ssize_t n = ::send(c.fd, hello_.data() + c.out_off, 1, MSG_NOSIGNAL);
  if (n == 1) {
    ++c.out_off;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    return gate_closed(c, std::string("write: ") + std::strerror(errno));  // NOLINT
  }
  due_.push({now + h_.byte_every, c.slot, c.gen, kByte});
}

App HostileDriver::on_app(Conn& c) {
  if (c.raw) return raw_app(c);
  if (c.out_off < c.out_len) {
    App a = write_out(c);
    if (a != App::kFinished) return a;
  }
  if (!c.held) return App::kBlocked;  // the point: never read
  App a = read_count(c);
  if (a == App::kFailed) {
    st(c).drained_bytes += c.bytes;
    gate_closed(c, last_error());
    return App::kBlocked;
  }
  if (c.bytes > h_.drain_cap) {
    give_up(c);
    return App::kBlocked;
  }
  return a;
}

App HostileDriver::raw_app(Conn& c) {
  char buf[4096];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) continue;  // an alert, say; the close comes after it
    if (n == 0) {
      gate_closed(c, "EOF");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return App::kBlocked;
    } else {
      gate_closed(c, std::strerror(errno));  // NOLINT
    }
    return App::kBlocked;
  }
  return App::kMore;
}

// The client saw the gate's close: count it, then close our end.
void HostileDriver::gate_closed(Conn& c, const std::string& how) {
  auto& s = st(c);
  ++s.closed_by_gate;
  s.how.add(0, how);
  if (c.raw && s.lifetimes.size() < kMaxLifetimes) s.lifetimes.push_back(now_ns() - c.t_connect);
  counted_[c.slot] = true;
  finish(c);
}

void HostileDriver::give_up(Conn& c) {
  auto& s = st(c);
  ++s.not_closed;
  sockaddr_storage me{};
  socklen_t len = sizeof me;
  if (s.not_closed_ports.size() < kPortsKept &&
      ::getsockname(c.fd, reinterpret_cast<sockaddr*>(&me), &len) == 0 && me.ss_family == AF_INET) {
    s.not_closed_ports.push_back(ntohs(reinterpret_cast<const sockaddr_in&>(me).sin_port));
  }
  counted_[c.slot] = true;
  finish(c);
}

void HostileDriver::finish(Conn& c) {
  // No close_notify: the gate is gone, or is the one being tested.
  if (c.ssl != nullptr) SSL_set_quiet_shutdown(c.ssl, 1);
  close(c, true);
}

void HostileDriver::on_closed(Conn& c, bool ok) {
  uint64_t now = now_ns();
  if (!ok && !counted_[c.slot]) {
    // Not the gate's close by timeout as the client sees it: a connect or
    // handshake that failed, or an established connection that broke.
    st(c).failed.add(now, close_reason());
  }
  if (established_[c.slot]) {
    established_[c.slot] = false;
    --open_[role_of(c)];
    open_now_.fetch_sub(1);
  }
  counted_[c.slot] = false;
  if (stop_.load()) {
    stopping_ = true;
    return;
  }
  due_.push({now + (ok ? 0 : kReconnectAfterFailure), c.slot, c.gen, kReopen});
}

void HostileDriver::on_open_failed(Conn& c) {
  uint64_t now = now_ns();
  st(c).failed.add(now, close_reason());
  if (!stop_.load()) due_.push({now + kReconnectAfterFailure, c.slot, c.gen, kReopen});
}

uint64_t HostileDriver::next_tick() const {
  if (stop_.load() && !stopping_) return 0;
  return std::min(due_.next(), next_sweep_);
}

void HostileDriver::on_tick(uint64_t now) {
  if (stop_.load()) stopping_ = true;  // no more reconnects; the open ones end by themselves
  Due d;
  while (due_.pop_due(now, &d)) {
    Conn& c = conns_[d.slot];
    if (c.gen != d.gen) continue;
    if (d.kind == kReopen) {
      if (c.phase == Conn::Phase::kFree && !stopping_) open(c);
    } else if (c.phase == Conn::Phase::kApp && d.kind == kByte) {
      send_byte(c, now);
    } else if (c.phase == Conn::Phase::kApp && d.kind == kDrain) {
      if (uint64_t at = rx_grew_at_[c.slot] + h_.drain_after; at > now) {
        due_.push({at, c.slot, c.gen, kDrain});  // it grew since: not idle that long yet
        continue;
      }
      auto& s = st(c);
      s.stream_end_max = std::max(s.stream_end_max, rx_grew_at_[c.slot] - c.t_connect);
      c.held = true;
      c.sent_at = now;  // the drain started
      c.bytes = 0;
      kick(c);
    }
  }
  if (now >= next_sweep_) sweep(now);
}

void HostileDriver::sweep(uint64_t now) {
  next_sweep_ = now + kSweepEvery;
  for (auto& c : conns_) {
    if (c.phase == Conn::Phase::kFree) continue;
    if (!c.raw && c.phase == Conn::Phase::kApp && !c.held) {
      // A non-reader's receive queue grows while the gate still moves its
      // stream; the drain waits until it has stood still for drain_after.
      int queued = 0;
      if (::ioctl(c.fd, SIOCINQ, &queued) == 0 && queued != rx_queued_[c.slot]) {
        rx_queued_[c.slot] = queued;
        rx_grew_at_[c.slot] = now;
      }
    }
    if (c.phase != Conn::Phase::kApp) {
      if (now > c.t_connect + h_.open_timeout) {
        close(c, false, "not connected (or handshake not done) within the client-side deadline");
      }
    } else if (c.raw && now > c.t_connect + h_.raw_limit) {
      give_up(c);
    } else if (!c.raw && c.held && now > c.sent_at + h_.drain_limit) {
      st(c).drained_bytes += c.bytes;
      give_up(c);
    }
  }
}

}  // namespace tlsgate::bench
