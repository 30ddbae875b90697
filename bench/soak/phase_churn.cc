// churn: under load (long-lived echo connections that reconnect, and a
// handshake loop), the backend is killed and restarted `backend_kills`
// times, then the gate gets SIGHUP every `sighup_every` s for `sighup_for`
// s. Failures while the backend is down are expected; any other is not.
// The gate's descriptors are counted before the load and after it ended.
#include <csignal>

#include "echo_driver.h"
#include "handshake_drivers.h"
#include "phases.h"

namespace tlsgate::bench {
namespace {

struct Window {
  uint64_t from;
  uint64_t to;
};

// Events of `times` outside every window.
uint64_t outside(const std::vector<uint64_t>& times, const std::vector<Window>& windows) {
  uint64_t n = 0;
  for (uint64_t t : times) {
    bool in = false;
    for (const auto& w : windows) in = in || (t >= w.from && t < w.to);
    n += in ? 0 : 1;
  }
  return n;
}

}  // namespace

std::string run_churn(Harness& h, const Scale& s, std::vector<Check>* checks) {
  auto ctx = h.client_ctx();
  Phase phase(h, "churn", GateConfig{}, ctx.get(), 64);
  Watch& w = phase.watch();
  const uint16_t backend_port = h.backend_port();
  const uint64_t sighup_lines_before = count_lines_with(h.gate_log(), "received SIGHUP");

  EchoOptions e;
  e.connections = s.churn_connections;
  e.in_flight = 16;
  e.interval = 50 * kMilli;
  e.size = 64;
  e.reconnect = true;
  e.reconnect_delay = 100 * kMilli;
  e.handshake_timeout = 10 * kSecond;
  e.echo_timeout = 5 * kSecond;
  EchoDriver echo(h.client_options(0), ctx.get(), e);
  HandshakeLoop loop(h.client_options(2), ctx.get(), 10 * kMilli, 0, 10 * kSecond);
  const double budget =
      30 + s.backend_kills * (s.backend_down + s.recovery + 2) + s.sighup_for + 60;
  uint64_t t0 = now_ns();
  const auto deadline = t0 + static_cast<uint64_t>(budget * 1e9);
  Worker echo_worker([&] { echo.run(deadline); });
  Worker loop_worker([&] { loop.run(deadline); });
  w.wait_until([&] { return echo.open_now() == s.churn_connections; }, 20);
  w.hold(1);

  // Backend kills: failures from the kill until everything works again are expected.
  std::vector<Window> outages;
  std::string recoveries = "[";
  bool all_recovered = true;
  double worst_recovery = 0;
  for (int k = 0; k < s.backend_kills; ++k) {
    uint64_t t_kill = now_ns();
    h.kill_backend();
    w.hold(s.backend_down);
    h.start_backend(backend_port);
    uint64_t t_restart = now_ns();
    bool ok = w.wait_until(
        [&] { return echo.open_now() == s.churn_connections && loop.last_ok_at() > t_restart; },
        s.recovery);
    uint64_t t_ok = now_ns();
    double took = static_cast<double>(t_ok - t_restart) / 1e9;
    worst_recovery = std::max(worst_recovery, took);
    all_recovered = all_recovered && ok;
    recoveries += (k == 0 ? "" : ",") + fmt("%.3f", ok ? took : -1.0);
    // Connections that were already failing finish failing within a moment.
    outages.push_back({t_kill, t_ok + 500 * kMilli});
    w.hold(1);
  }
  recoveries += "]";

  // SIGHUP storm.
  uint64_t s0 = now_ns();
  const uint64_t handshakes_before_hup = loop.ops_now();
  const uint64_t echoes_before_hup = echo.echoes_now();
  uint64_t sighups = 0;
  const uint64_t storm_end = s0 + static_cast<uint64_t>(s.sighup_for * 1e9);
  const auto every = static_cast<uint64_t>(s.sighup_every * 1e9);
  for (uint64_t next = s0; next < storm_end && w.alive(); next += every) {
    w.wait_until([&] { return now_ns() >= next; }, s.sighup_every * 2, 0.01);
    h.gate().signal(SIGHUP);
    ++sighups;
  }
  uint64_t s1 = now_ns();
  w.hold(1);
  const uint64_t handshakes_during_hup = loop.ops_now() - handshakes_before_hup;
  const uint64_t echoes_during_hup = echo.echoes_now() - echoes_before_hup;
  const uint64_t open_at_end = echo.open_now();

  echo.request_stop();
  loop.request_stop();
  w.wait_until([&] { return echo_worker.done() && loop_worker.done(); }, 30);
  echo_worker.join();
  loop_worker.join();
  const long rss_peak = w.peak_rss_kb();
  const int fds_peak = w.peak_fds();
  const uint64_t sighup_lines =
      count_lines_with(h.gate_log(), "received SIGHUP") - sighup_lines_before;
  // The same wait for the descriptors the other phases give, and longer:
  // reloads may close watchers lazily.
  phase.finish(15, checks);

  std::vector<uint64_t> failure_times = echo.failed().times();
  failure_times.insert(failure_times.end(), loop.failed().times().begin(),
                       loop.failed().times().end());
  const uint64_t unexpected = outside(failure_times, outages);
  const uint64_t during_hup =
      echo.failed().between(s0, s1 + kSecond) + loop.failed().between(s0, s1 + kSecond);
  const uint64_t expected = failure_times.size() - unexpected;

  checks->push_back({"churn.recovered", all_recovered,
                     fmt("after each of %.0f backend restarts every connection echoed again and a "
                         "new handshake worked within %.2f s (worst), bound %.0f s",
                         s.backend_kills, worst_recovery, s.recovery)});
  checks->push_back(
      {"churn.no_failures_outside_outages", unexpected == 0 && open_at_end == s.churn_connections,
       fmt("%.0f failures outside the backend outages (%.0f inside), %.0f of %.0f echo "
           "connections open at the end",
           static_cast<double>(unexpected), static_cast<double>(expected),
           static_cast<double>(open_at_end), static_cast<double>(s.churn_connections)) +
           " " + echo.failed().reasons_json() + " " + loop.failed().reasons_json()});
  checks->push_back(
      {"churn.sighup_served", during_hup == 0 && handshakes_during_hup > 0,
       fmt("%.0f SIGHUPs in %.1f s: %.0f handshakes and %.0f echoes went on, ",
           static_cast<double>(sighups), static_cast<double>(s1 - s0) / 1e9,
           static_cast<double>(handshakes_during_hup), static_cast<double>(echoes_during_hup)) +
           fmt("%.0f failed", static_cast<double>(during_hup))});

  Json out;
  out.add("phase", "churn")
      .add("echo_connections", static_cast<uint64_t>(s.churn_connections))
      .add("backend_kills", s.backend_kills)
      .add("backend_down_s", s.backend_down)
      .add_raw("recovery_s", recoveries)
      .add("sighups_sent", sighups)
      .add("sighups_logged", sighup_lines)
      .add("sighup_seconds", static_cast<double>(s1 - s0) / 1e9)
      .add("handshakes", loop.ops_now())
      .add("handshakes_during_sighup", handshakes_during_hup)
      .add("echoes", echo.echoes())
      .add("echoes_during_sighup", echoes_during_hup)
      .add("failures_in_outages", expected)
      .add("failures_elsewhere", unexpected)
      .add("failures_during_sighup", during_hup)
      .add_raw("echo_failure_reasons", echo.failed().reasons_json())
      .add_raw("handshake_failure_reasons", loop.failed().reasons_json())
      .add("rss_peak_kb", static_cast<int64_t>(rss_peak))
      .add("fds_peak", fds_peak);
  phase.report(out);
  return out.str();
}

}  // namespace tlsgate::bench
