// `handshake` (full or --resume) and `idle`: the connection-level modes.
#include <iostream>

#include "handshake_driver.h"
#include "modes.h"
#include "proc.h"

namespace tlsgate::bench {
namespace {

uint64_t seconds_ns(double s) { return static_cast<uint64_t>(s * 1e9); }

// N connections, at most `concurrency` handshakes in flight; each finishes
// its handshake and a 1-byte echo, then stays open without traffic. Once
// all are settled (open or failed) and `settle` passed, the watched pids'
// RSS is compared with the one before the first connection.
class IdleDriver : public Driver {
 public:
  IdleDriver(const ClientOptions& o, SSL_CTX* ctx, size_t connections, size_t in_flight,
             std::vector<int> pids, uint64_t settle, uint64_t hold)
      : Driver(with_slots(o, connections), ctx),
        in_flight_(in_flight),
        pids_(std::move(pids)),
        settle_(settle),
        hold_(hold) {}

  bool measured() const { return measured_; }
  const Json& result() const { return result_; }

 protected:
  static ClientOptions with_slots(ClientOptions o, size_t n) {
    o.concurrency = n;
    return o;
  }

  void start() override {
    before_ = sample_procs(pids_);
    t_start_ = now_ns();
    for (size_t i = 0; i < in_flight_ && next_ < conns_.size(); ++i) open(conns_[next_++]);
  }

  void on_established(Conn& c) override { queue_ping(c); }

  App on_app(Conn& c) override {
    if (c.held) return read_count(c);  // only an EOF or an error is expected now
    if (c.out_off < c.out_len) {
      App a = write_out(c);
      if (a != App::kFinished) return a;
    }
    App a = read_in(c);
    if (a != App::kFinished) return a;
    c.held = true;
    ++established_;
    settle_one();
    return App::kBlocked;
  }

  void on_closed(Conn& c, bool /*ok*/) override {
    if (c.held) {
      ++dropped_;
    } else {
      settle_one();
    }
  }
  void on_open_failed(Conn& /*c*/) override { settle_one(); }

  bool finished() const override { return measured_ && now_ns() >= hold_end_; }

  uint64_t next_tick() const override {
    if (!all_settled_) return UINT64_MAX;
    return measured_ ? hold_end_ : ready_at_;
  }

  void on_tick(uint64_t now) override {
    if (!all_settled_ || measured_ || now < ready_at_) return;
    ProcSample after = sample_procs(pids_);
    result_.add("mode", "idle")
        .add("connections", static_cast<uint64_t>(conns_.size()))
        .add("established", established_)
        .add("failures", failures())
        .add("dropped", dropped_)
        .add("seconds_to_establish", static_cast<double>(t_settled_ - t_start_) / 1e9)
        .add("first_error", first_error());
    if (!pids_.empty()) {
      double grown = static_cast<double>(after.rss_kb - before_.rss_kb);
      result_.add("rss_before_kb", static_cast<int64_t>(before_.rss_kb))
          .add("rss_after_kb", static_cast<int64_t>(after.rss_kb))
          .add("cpu_s", after.cpu_s - before_.cpu_s)
          .add("kib_per_1000",
               established_ == 0 ? 0.0 : grown * 1000.0 / static_cast<double>(established_))
          .add("pids_ok", before_.ok && after.ok);
    }
    std::cout << result_.str() << std::endl;
    measured_ = true;
    hold_end_ = now + hold_;
  }

 private:
  void settle_one() {
    ++settled_;
    if (next_ < conns_.size()) open(conns_[next_++]);
    if (settled_ >= conns_.size() && !all_settled_) {
      all_settled_ = true;
      t_settled_ = now_ns();
      ready_at_ = t_settled_ + settle_;
    }
  }

  size_t in_flight_;
  std::vector<int> pids_;
  uint64_t settle_;
  uint64_t hold_;
  ProcSample before_;
  size_t next_ = 0;
  size_t settled_ = 0;
  uint64_t established_ = 0;
  uint64_t dropped_ = 0;
  bool all_settled_ = false;
  bool measured_ = false;
  uint64_t t_start_ = 0;
  uint64_t t_settled_ = 0;
  uint64_t ready_at_ = 0;
  uint64_t hold_end_ = 0;
  Json result_;
};

}  // namespace

int run_handshake(int argc, char** argv) {
  Args args(argc, argv,
            client_option_names({"duration", "count", "watch-pid", "max-failures", "timeout"}),
            {"resume"});
  ClientOptions o = client_options(args, 16);
  o.resume = args.flag("resume");
  double duration = args.real("duration", 5);
  long count = args.num("count", 0);
  if (duration <= 0 || count < 0) die("--duration must be > 0 and --count >= 0");
  auto pids = parse_pids(args.str("watch-pid", ""));
  auto ctx = make_client_ctx(o.ca);
  uint64_t t0 = now_ns();
  uint64_t end = t0 + seconds_ns(duration);
  HandshakeDriver d(o, ctx.get(), end, static_cast<uint64_t>(count),
                    static_cast<uint64_t>(args.num("max-failures", 1000)));
  ProcSample before = sample_procs(pids);
  d.run(end + seconds_ns(args.real("timeout", 10)));
  uint64_t t1 = d.last_close() != 0 ? d.last_close() : now_ns();
  double seconds = static_cast<double>(t1 - t0) / 1e9;
  Json out;
  out.add("mode", o.resume ? "resumed" : "full")
      .add("concurrency", static_cast<uint64_t>(o.concurrency))
      .add("ops", d.ops())
      .add("seconds", seconds)
      .add("rate", seconds > 0 ? static_cast<double>(d.ops()) / seconds : 0.0)
      .add("handshakes", d.handshakes())
      .add("resumed", d.resumed())
      .add("failures", d.failures())
      .add("timed_out", d.timed_out())
      .add("first_error", d.first_error());
  add_percentiles(out, d.latencies(), "latency_");
  add_proc_delta(out, pids, before);
  std::cout << out.str() << std::endl;
  return d.failures() == 0 && !d.timed_out() ? 0 : 1;
}

int run_idle(int argc, char** argv) {
  Args args(argc, argv,
            client_option_names({"connections", "watch-pid", "settle-ms", "hold", "timeout"}), {});
  ClientOptions o = client_options(args, 64);
  long n = args.num("connections", 1000);
  if (n < 1 || n > 60000) die("--connections: 1..60000");
  auto ctx = make_client_ctx(o.ca);
  IdleDriver d(o, ctx.get(), static_cast<size_t>(n), o.concurrency,
               parse_pids(args.str("watch-pid", "")),
               static_cast<uint64_t>(args.num("settle-ms", 500)) * kMilli,
               seconds_ns(args.real("hold", 0.5)));
  d.run(now_ns() + seconds_ns(args.real("timeout", 120)));
  if (!d.measured()) {
    std::cout << Json()
                     .add("mode", "idle")
                     .add("connections", static_cast<uint64_t>(n))
                     .add("failures", d.failures())
                     .add("timed_out", true)
                     .add("first_error", d.first_error())
                     .str()
              << std::endl;
    return 1;
  }
  return d.failures() == 0 ? 0 : 1;
}

}  // namespace tlsgate::bench
