// badcert: `bad_handshakes` handshakes with a client certificate from a CA
// the gate does not trust (client_auth=REQUIRE), `bad_concurrency` at a
// time, while good clients (a trusted certificate) keep handshaking. The
// gate's log is measured in bytes and lines per refused handshake.
#include <cmath>

#include "handshake_drivers.h"
#include "phases.h"

namespace tlsgate::bench {

std::string run_badcert(Harness& h, const Scale& s, std::vector<Check>* checks) {
  GateConfig g;
  g.client_auth = "REQUIRE";
  auto good_ctx = h.client_ctx_good_cert();
  auto bad_ctx = h.client_ctx_untrusted_cert();
  Phase phase(h, "badcert", g, good_ctx.get(), 32);
  Watch& w = phase.watch();
  const long rss_before = phase.before().rss_kb;
  const int fds_before = phase.before().fds;

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
  phase.finish(10, checks);

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
      .add("rss_peak_kb", static_cast<int64_t>(rss_peak))
      .add("rss_peak_growth_mib", mib(rss_peak - rss_before))
      .add("rss_after_kb", static_cast<int64_t>(rss_after))
      .add("fds_peak", fds_peak);
  phase.report(out);
  return out.str();
}

}  // namespace tlsgate::bench
