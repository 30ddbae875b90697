// `latency` (request/response at a fixed rate) and `bulk` (one stream, as
// fast as it goes): the data-path modes, on long-lived connections.
#include <iostream>
#include <vector>

#include "driver.h"
#include "modes.h"
#include "proc.h"

namespace tlsgate::bench {
namespace {

uint64_t seconds_ns(double s) { return static_cast<uint64_t>(s * 1e9); }

// Each connection sends `size` bytes and waits for the echo, on a fixed
// schedule: the connections together make `rate` requests per second, spread
// evenly. Latency runs from the time a request was due, not from when it
// was written, so a stall is not hidden by the requests it delayed.
// With rate 0 (`pingpong`) it is a closed loop instead: each connection sends
// its next request as soon as the echo of the last one is in, and latency
// runs from that write; requests per second is then what the system sustains.
class LatencyDriver : public Driver {
 public:
  LatencyDriver(const ClientOptions& o, SSL_CTX* ctx, size_t size, double rate, uint64_t duration)
      : Driver(o, ctx),
        request_(size + 1, 'p'),
        closed_(rate <= 0),
        interval_(closed_ ? 0
                          : static_cast<uint64_t>(1e9 * static_cast<double>(o.concurrency) / rate)),
        duration_(duration) {
    request_[0] = 'E';
  }

  std::vector<uint64_t>& samples() { return samples_; }
  uint64_t requests() const { return requests_; }
  uint64_t answered() const { return answered_; }
  uint64_t late() const { return late_; }
  uint64_t measured_ns() const { return end_ - begin_; }

 protected:
  void on_established(Conn& c) override {
    c.out = request_.data();  // the first request carries the backend's 'E'
    c.out_len = 0;
    if (++established_ == conns_.size()) {
      begin_ = now_ns() + 10 * kMilli;
      end_ = begin_ + duration_;
      for (auto& k : conns_) k.next_send = begin_ + k.slot * interval_ / conns_.size();
    }
  }

  App on_app(Conn& c) override {
    if (c.sent_at == 0) return read_idle(c);
    if (c.out_off < c.out_len) {
      App a = write_out(c);
      if (a != App::kFinished) return a;
    }
    App a = read_in(c);
    if (a != App::kFinished) return a;
    uint64_t now = now_ns();
    samples_.push_back(now - c.sent_at);
    if (c.sent_at < end_ && now <= end_) ++answered_;
    c.sent_at = 0;
    if (now >= end_) return App::kFinished;
    if (!closed_) return App::kBlocked;
    c.next_send = now;
    issue(c, now);
    return App::kMore;
  }

  void on_closed(Conn& /*c*/, bool ok) override {
    if (!ok) stopping_ = true;  // a broken connection ends the run; failures() says so
  }

  bool finished() const override { return active() == 0 || (stopping_ && in_flight() == 0); }

  uint64_t next_tick() const override {
    if (begin_ == 0 || stopping_) return UINT64_MAX;
    uint64_t next = end_;
    for (const auto& c : conns_) {
      if (c.phase == Conn::Phase::kApp && c.sent_at == 0) next = std::min(next, c.next_send);
    }
    return next;
  }

  void on_tick(uint64_t now) override {
    if (now >= end_) {
      stopping_ = true;
      return;
    }
    for (auto& c : conns_) {
      if (c.phase != Conn::Phase::kApp || c.sent_at != 0 || c.next_send > now) continue;
      if (!closed_ && now - c.next_send > interval_) ++late_;
      issue(c, now);
      kick(c);
    }
  }

 private:
  // Sets up c's next request, due at c.next_send (closed loop: now).
  void issue(Conn& c, uint64_t now) {
    c.sent_at = closed_ ? now : c.next_send;
    c.next_send += interval_;
    // Only the first request carries the 'E' (on_established left out_len 0);
    // the backend echoes every later byte.
    bool first = c.out == request_.data() && c.out_len == 0;
    c.out = first ? request_.data() : request_.data() + 1;
    c.out_len = first ? request_.size() : request_.size() - 1;
    c.out_off = 0;
    c.in_want = request_.size() - 1;
    c.in_got = 0;
    ++requests_;
  }

  // Between requests nothing should arrive but an EOF or an error.
  App read_idle(Conn& c) {
    App a = read_count(c);
    return a == App::kMore ? App::kBlocked : a;
  }

  size_t in_flight() const {
    size_t n = 0;
    for (const auto& c : conns_) n += c.phase == Conn::Phase::kApp && c.sent_at != 0 ? 1 : 0;
    return n;
  }

  std::vector<char> request_;
  bool closed_;
  uint64_t interval_;
  uint64_t duration_;
  size_t established_ = 0;
  uint64_t begin_ = 0;
  uint64_t end_ = 0;
  uint64_t requests_ = 0;
  uint64_t answered_ = 0;
  uint64_t late_ = 0;
  std::vector<uint64_t> samples_;
};

// One stream per slot: download ('G', the backend writes) or upload ('S',
// the backend discards), until the duration is over.
class BulkDriver : public Driver {
 public:
  BulkDriver(const ClientOptions& o, SSL_CTX* ctx, bool upload, uint64_t duration)
      : Driver(o, ctx), upload_(upload), duration_(duration), chunk_(size_t{16} * 1024, 'u') {}

  uint64_t bytes() const { return bytes_; }
  uint64_t first_byte() const { return first_; }
  uint64_t last_byte() const { return last_; }

 protected:
  void on_established(Conn& c) override {
    static constexpr char kDown[] = "G";
    static constexpr char kUp[] = "S";
    c.out = upload_ ? kUp : kDown;
    c.out_len = 1;
    c.out_off = 0;
    if (first_ == 0) {
      first_ = now_ns();
      end_ = first_ + duration_;
    }
  }

  App on_app(Conn& c) override {
    if (c.out_off < c.out_len && c.out != chunk_.data()) {
      App a = write_out(c);
      if (a != App::kFinished) return a;
      c.out = chunk_.data();
      c.out_len = c.out_off = 0;
    }
    uint64_t before = c.bytes;
    App a;
    if (upload_) {
      if (c.out_off == c.out_len) {
        c.bytes += c.out_len;
        c.out_off = 0;
        c.out_len = chunk_.size();
      }
      a = write_out(c);
      if (a == App::kFinished) a = App::kMore;
    } else {
      a = read_count(c);
    }
    bytes_ += c.bytes - before;
    uint64_t now = now_ns();
    if (c.bytes != before) last_ = now;
    if (now >= end_) return App::kFinished;
    return a;
  }

  void on_closed(Conn& /*c*/, bool /*ok*/) override { stopping_ = true; }
  bool finished() const override { return active() == 0; }
  uint64_t next_tick() const override { return end_ == 0 ? UINT64_MAX : end_; }
  void on_tick(uint64_t now) override {
    if (now < end_) return;
    for (auto& c : conns_) close(c, true);
  }

 private:
  bool upload_;
  uint64_t duration_;
  std::vector<char> chunk_;
  uint64_t bytes_ = 0;
  uint64_t first_ = 0;
  uint64_t end_ = 0;
  uint64_t last_ = 0;
};

}  // namespace

int run_latency(int argc, char** argv) {
  Args args(argc, argv, client_option_names({"duration", "rate", "size", "watch-pid", "timeout"}),
            {});
  ClientOptions o = client_options(args, 16);
  double duration = args.real("duration", 5);
  double rate = args.real("rate", 2000);
  long size = args.num("size", 1024);
  if (duration <= 0 || rate < 0 || size < 1 || size > 1 << 20) {
    die("--duration must be > 0, --rate >= 0 (0: closed loop), --size 1..1048576");
  }
  auto pids = parse_pids(args.str("watch-pid", ""));
  auto ctx = make_client_ctx(o.ca);
  LatencyDriver d(o, ctx.get(), static_cast<size_t>(size), rate, seconds_ns(duration));
  ProcSample before = sample_procs(pids);
  d.run(now_ns() + seconds_ns(duration + args.real("timeout", 10)));
  Json out;
  out.add("mode", "latency")
      .add("concurrency", static_cast<uint64_t>(o.concurrency))
      .add("rate_target", rate)
      .add("size", static_cast<int64_t>(size))
      .add("requests", d.requests())
      .add("answered", d.answered())
      .add("late", d.late())
      .add("seconds", static_cast<double>(d.measured_ns()) / 1e9)
      .add("rps", static_cast<double>(d.answered()) / (static_cast<double>(d.measured_ns()) / 1e9))
      .add("failures", d.failures())
      .add("timed_out", d.timed_out())
      .add("first_error", d.first_error());
  add_percentiles(out, d.samples(), "");
  add_proc_delta(out, pids, before);
  std::cout << out.str() << std::endl;
  return d.failures() == 0 && !d.timed_out() ? 0 : 1;
}

int run_bulk(int argc, char** argv) {
  Args args(argc, argv, client_option_names({"duration", "direction", "watch-pid", "timeout"}), {});
  ClientOptions o = client_options(args, 1);
  double duration = args.real("duration", 5);
  std::string direction = args.str("direction", "down");
  if (duration <= 0 || (direction != "down" && direction != "up")) {
    die("--duration must be > 0, --direction down or up");
  }
  auto pids = parse_pids(args.str("watch-pid", ""));
  auto ctx = make_client_ctx(o.ca);
  BulkDriver d(o, ctx.get(), direction == "up", seconds_ns(duration));
  ProcSample before = sample_procs(pids);
  d.run(now_ns() + seconds_ns(duration + args.real("timeout", 10)));
  double seconds = static_cast<double>(d.last_byte() - d.first_byte()) / 1e9;
  Json out;
  out.add("mode", direction == "up" ? "bulk_up" : "bulk")
      .add("concurrency", static_cast<uint64_t>(o.concurrency))
      .add("bytes", d.bytes())
      .add("seconds", seconds)
      .add("mb_per_s", seconds > 0 ? static_cast<double>(d.bytes()) / 1e6 / seconds : 0.0)
      .add("failures", d.failures())
      .add("timed_out", d.timed_out())
      .add("first_error", d.first_error());
  add_proc_delta(out, pids, before);
  std::cout << out.str() << std::endl;
  return d.failures() == 0 && !d.timed_out() ? 0 : 1;
}

}  // namespace tlsgate::bench
