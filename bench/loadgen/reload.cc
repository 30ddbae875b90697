// `reload`: certificate rotations under a handshake loop. Rotation i moves
// PAIRS/i/private.key and PAIRS/i/public.crt into the policy's folder by
// rename (key first, as a deploy tool would), then waits for the first
// handshake that completes with the new certificate's serial. PAIRS must be
// on the same file system as the policy's folder and outside it (so staging
// the files is no change the gate sees). Every handshake failure during the
// run is counted.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <openssl/pem.h>

#include "handshake_driver.h"
#include "modes.h"
#include "proc.h"

namespace tlsgate::bench {
namespace {

namespace fs = std::filesystem;

std::string serial_of_file(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) die("cannot read " + path.string());
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) die("not a PEM certificate: " + path.string());
  std::string s = serial_hex(cert);
  X509_free(cert);
  return s;
}

class ReloadDriver : public HandshakeDriver {
 public:
  ReloadDriver(const ClientOptions& o, SSL_CTX* ctx, fs::path policy_dir, fs::path pairs,
               int rotations, uint64_t gap, uint64_t give_up)
      : HandshakeDriver(o, ctx, UINT64_MAX, 0, 10000),
        policy_dir_(std::move(policy_dir)),
        pairs_(std::move(pairs)),
        rotations_(rotations),
        gap_(gap),
        give_up_(give_up),
        due_(now_ns() + gap) {}

  std::vector<uint64_t>& delays() { return delays_; }
  int timeouts() const { return timeouts_; }
  int done() const { return done_; }
  uint64_t stale_after_change() const { return stale_; }

 protected:
  void on_handshake(Conn& c) override {
    if (!waiting_) return;
    std::string seen = serial_hex(SSL_get0_peer_certificate(c.ssl));
    if (seen != expected_) {
      if (c.t_connect > changed_) ++stale_;  // started after the change, still the old one
      return;
    }
    delays_.push_back(now_ns() - changed_);
    next_rotation();
  }

  uint64_t next_tick() const override { return stopping_ ? UINT64_MAX : due_; }

  void on_tick(uint64_t now) override {
    if (stopping_ || now < due_) return;
    if (waiting_) {  // the new certificate never showed up
      ++timeouts_;
      delays_.push_back(give_up_);
      next_rotation();
      return;
    }
    fs::path dir = pairs_ / std::to_string(done_ + 1);
    expected_ = serial_of_file(dir / "public.crt");
    changed_ = now_ns();
    std::error_code ec;
    fs::rename(dir / "private.key", policy_dir_ / "private.key", ec);
    if (!ec) fs::rename(dir / "public.crt", policy_dir_ / "public.crt", ec);
    if (ec)
      die("rotation " + std::to_string(done_ + 1) + ": rename into " + policy_dir_.string() + ": " +
          ec.message());
    waiting_ = true;
    due_ = changed_ + give_up_;
  }

 private:
  void next_rotation() {
    waiting_ = false;
    if (++done_ >= rotations_) {
      stopping_ = true;
      return;
    }
    due_ = now_ns() + gap_;
  }

  fs::path policy_dir_;
  fs::path pairs_;
  int rotations_;
  uint64_t gap_;
  uint64_t give_up_;
  uint64_t due_;
  bool waiting_ = false;
  std::string expected_;
  uint64_t changed_ = 0;
  int done_ = 0;
  int timeouts_ = 0;
  uint64_t stale_ = 0;
  std::vector<uint64_t> delays_;
};

}  // namespace

int run_reload(int argc, char** argv) {
  Args args(argc, argv,
            client_option_names(
                {"policy-dir", "pairs", "rotations", "gap-ms", "give-up-ms", "watch-pid"}),
            {});
  ClientOptions o = client_options(args, 2);
  if (o.ca.empty()) die("--ca is required: the serial is read from a verified certificate");
  fs::path policy_dir = args.str("policy-dir", "");
  fs::path pairs = args.str("pairs", "");
  long rotations = args.num("rotations", 50);
  long gap_ms = args.num("gap-ms", 300);
  long give_up_ms = args.num("give-up-ms", 5000);
  if (policy_dir.empty() || pairs.empty() || rotations < 1 || rotations > 10000 || gap_ms < 0 ||
      give_up_ms < 1) {
    die("--policy-dir and --pairs are required; --rotations 1..10000");
  }
  for (long i = 1; i <= rotations; ++i) {
    if (!fs::exists(pairs / std::to_string(i) / "public.crt")) {
      die("missing " + (pairs / std::to_string(i) / "public.crt").string());
    }
  }
  auto pids = parse_pids(args.str("watch-pid", ""));
  auto ctx = make_client_ctx(o.ca);
  ReloadDriver d(o, ctx.get(), policy_dir, pairs, static_cast<int>(rotations),
                 static_cast<uint64_t>(gap_ms) * kMilli,
                 static_cast<uint64_t>(give_up_ms) * kMilli);
  ProcSample before = sample_procs(pids);
  uint64_t budget =
      static_cast<uint64_t>(rotations) * (static_cast<uint64_t>(gap_ms + give_up_ms) * kMilli) +
      10 * kSecond;
  d.run(now_ns() + budget);
  std::vector<uint64_t> delays = d.delays();
  Json out;
  out.add("mode", "reload")
      .add("rotations", d.done())
      .add("timeouts", d.timeouts())
      .add("handshakes", d.handshakes())
      .add("failures", d.failures())
      .add("stale_after_change", d.stale_after_change())
      .add("timed_out", d.timed_out())
      .add("first_error", d.first_error());
  std::string list = "[";
  for (size_t i = 0; i < delays.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.1f", i == 0 ? "" : ",",
                  static_cast<double>(delays[i]) / 1e6);
    list += buf;
  }
  out.add_raw("delays_ms", list + "]");
  add_percentiles(out, delays, "delay_");
  add_proc_delta(out, pids, before);
  std::cout << out.str() << std::endl;
  return d.failures() == 0 && d.timeouts() == 0 && !d.timed_out() ? 0 : 1;
}

}  // namespace tlsgate::bench
