// badcert: `bad_handshakes` handshakes with a client certificate from a CA
// the gate does not trust (client_auth=REQUIRE), `bad_concurrency` at a
// time, while good clients (a trusted certificate) keep handshaking. The
// gate's log is measured in bytes and lines per refused handshake.
#include <cmath>

#include "handshake_drivers.h"
#include "phases.h"

namespace tlsgate::bench {
namespace {

double mib(long kb) { return static_cast<double>(kb) / 1024.0; }

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

std::vector<uint64_t> window(const std::vector<std::pair<uint64_t, uint64_t>>& samples,
                             uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (const auto& [start, ns] : samples) {
    if (start >= from && start < to) out.push_back(ns);
  }
  return out;
}

}  // namespace

std::string run_badcert(Harness& h, const Scale& s, std::vector<Check>* checks) {
  h.start_backend();
  GateConfig g;
  g.client_auth = "REQUIRE";
  h.start_gate("badcert", g);
  auto good_ctx = h.client_ctx_good_cert();
  auto bad_ctx = h.client_ctx_untrusted_cert();
  h.warm_up(good_ctx.get(), 32);
  Watch w(&h.gate());
  w.hold(1);
  const long rss_before = w.rss_kb();
  const int fds_before = w.fds();
  const auto kinds_before = fds_by_kind(h.gate().pid());
  const uint64_t log_from = file_size(h.gate_log()).bytes;
  w.reset_peaks();
  const double cpu_before = w.cpu_seconds();

  HandshakeLoop good(h.client_options(2), good_ctx.get(), 20 * kMilli, 0, 10 * kSecond);
  const double storm_budget = 60 + static_cast<double>(s.bad_handshakes) / 50;
  Worker good_worker(
      [&] { good.run(now_ns() + static_cast<uint64_t>((s.quiet + storm_budget + 30) * 1e9)); });
  uint64_t q0 = now_ns();
  w.hold(s.quiet);
  uint64_t q1 = now_ns();

  const FileSize log_before = file_size(h.gate_log());
  BadCertDriver bad(h.client_options(s.bad_concurrency), bad_ctx.get(), s.bad_handshakes,
                    10 * kSecond);
  uint64_t b0 = now_ns();
  Worker bad_worker([&] { bad.run(b0 + static_cast<uint64_t>(storm_budget * 1e9)); });
  w.wait_until([&] { return bad_worker.done(); }, storm_budget + 10);
  bad_worker.join();
  uint64_t b1 = now_ns();
  const double storm_seconds = static_cast<double>(b1 - b0) / 1e9;
  const long rss_peak = w.peak_rss_kb();
  const int fds_peak = w.peak_fds();
  // After the storm, the good clients go on a little: the gate must still answer.
  w.hold(1);
  good.request_stop();
  w.wait_until([&] { return good_worker.done(); }, 30);
  good_worker.join();
  const FileSize log_after = file_size(h.gate_log());
  std::string first_lines = read_tail(h.gate_log(), log_before.bytes, 700);
  first_lines =
      first_lines.substr(0, first_lines.rfind('\n') == std::string::npos ? first_lines.size()
                                                                         : first_lines.rfind('\n'));
  w.wait_fds_at_most(fds_before, 10);
  w.hold(1);
  const long rss_after = w.rss_kb();
  std::string log_problems = log_problems_json(h.gate_log(), log_from);
  PhaseEnd end = end_phase(h, w, "badcert", fds_before, kinds_before, 10, checks);
  h.kill_backend();

  auto quiet = window(good.samples(), q0, q1);
  auto storm = window(good.samples(), b0, b1);
  const uint64_t refused = bad.refused();
  const double log_bytes = static_cast<double>(log_after.bytes - log_before.bytes);
  const double log_lines = static_cast<double>(log_after.lines - log_before.lines);
  const double bytes_per = refused == 0 ? 0.0 : log_bytes / static_cast<double>(refused);
  const double lines_per = refused == 0 ? 0.0 : log_lines / static_cast<double>(refused);
  // Fewer than one line per two refusals: some lines stand for many.
  const bool rate_limited = refused > 0 && lines_per < 0.5;

  checks->push_back(
      {"badcert.refused",
       bad.attempted() == s.bad_handshakes && refused == s.bad_handshakes && bad.accepted() == 0,
       fmt("%.0f attempts: %.0f refused, %.0f ACCEPTED, %.0f hung past the client deadline",
           static_cast<double>(bad.attempted()), static_cast<double>(refused),
           static_cast<double>(bad.accepted()), static_cast<double>(bad.timeouts())) +
           fmt(", %.0f connects failed", static_cast<double>(bad.connect_failures()))});
  checks->push_back(
      {"badcert.good_served", good.failed().count() == 0 && !storm.empty(),
       fmt("%.0f good handshakes during the storm (%.0f quiet), %.0f failures, p99 %.0f us",
           static_cast<double>(storm.size()), static_cast<double>(quiet.size()),
           static_cast<double>(good.failed().count()), percentile_us(storm, 0.99)) +
           (good.failed().count() != 0 ? " " + good.failed().reasons_json() : "")});
  checks->push_back({"badcert.log_per_failure", refused > 0 && bytes_per <= s.log_bytes_per_failure,
                     fmt("%.0f bytes (%.2f lines) of log per refused handshake, bound %.0f bytes; "
                         "rate limited: ",
                         bytes_per, lines_per, s.log_bytes_per_failure) +
                         (rate_limited ? "yes" : "no")});

  Json out;
  out.add("phase", "badcert")
      .add("bad_handshakes", s.bad_handshakes)
      .add("attempted", bad.attempted())
      .add("refused", refused)
      .add("accepted", bad.accepted())
      .add("client_timeouts", bad.timeouts())
      .add("connect_failures", bad.connect_failures())
      .add_raw("refused_as", bad.refusals().reasons_json())
      .add("storm_seconds", storm_seconds)
      .add("bad_per_second", static_cast<double>(bad.attempted()) / storm_seconds)
      .add_raw("good_quiet", latency_json(quiet))
      .add_raw("good_during_storm", latency_json(storm))
      .add("good_failures", good.failed().count())
      .add_raw("good_failure_reasons", good.failed().reasons_json())
      .add("log_bytes", static_cast<uint64_t>(log_bytes))
      .add("log_lines", static_cast<uint64_t>(log_lines))
      .add("log_bytes_per_failure", bytes_per)
      .add("log_lines_per_failure", lines_per)
      .add("log_rate_limited", rate_limited)
      .add("log_sample", first_lines)
      .add("rss_before_kb", static_cast<int64_t>(rss_before))
      .add("rss_peak_kb", static_cast<int64_t>(rss_peak))
      .add("rss_peak_growth_mib", mib(rss_peak - rss_before))
      .add("rss_after_kb", static_cast<int64_t>(rss_after))
      .add("fds_before", fds_before)
      .add("fds_peak", fds_peak)
      .add("fds_after", end.fds_after)
      .add_raw("fd_diff", end.fd_diff)
      .add_raw("gate_log", log_problems)
      .add("gate_cpu_s", end.cpu_s - cpu_before)
      .add("gate_alive", end.alive)
      .add("gate_exit", end.exit);
  return out.str();
}

}  // namespace tlsgate::bench
