// connections: `connections` TLS connections through one gate with two
// workers, each echoing every `echo_interval`; all held for `hold` seconds,
// then all closed. The gate's RSS is read before, with all open (and its
// peak), right after the last one closed and `settle` seconds later.
#include <algorithm>
#include <cmath>

#include "echo_driver.h"
#include "phases.h"

namespace tlsgate::bench {

std::string run_connections(Harness& h, const Scale& s, std::vector<Check>* checks) {
  auto ctx = h.client_ctx();
  Phase phase(h, "connections", GateConfig{}, ctx.get(), 64);
  Watch& w = phase.watch();
  const long rss_before = phase.before().rss_kb;
  const int fds_before = phase.before().fds;

  EchoOptions e;
  e.connections = s.connections;
  e.in_flight = s.in_flight;
  e.interval = static_cast<uint64_t>(s.echo_interval * 1e9);
  e.size = 64;
  e.handshake_timeout = 30 * kSecond;
  e.echo_timeout = 10 * kSecond;
  EchoDriver d(h.client_options(0), ctx.get(), e);
  const double open_budget = 60 + static_cast<double>(s.connections) / 50;
  uint64_t t0 = now_ns();
  Worker worker([&] { d.run(t0 + static_cast<uint64_t>((open_budget + s.hold + 60) * 1e9)); });

  bool all_tried = w.wait_until([&] { return d.all_tried(); }, open_budget, 0.25);
  double seconds_to_open = static_cast<double>(now_ns() - t0) / 1e9;
  const uint64_t open_at_start = d.open_now();
  const long rss_open = w.rss_kb();
  const uint64_t echoes0 = d.echoes_now();
  const double cpu_hold0 = w.cpu_seconds();
  w.hold(s.hold);
  const double cpu_hold = w.cpu_seconds() - cpu_hold0;
  const uint64_t echoes_hold = d.echoes_now() - echoes0;
  const uint64_t open_at_end = d.open_now();
  const long rss_peak_sampled = w.peak_rss_kb();
  const int fds_peak = w.peak_fds();
  const long hwm = w.hwm_kb();

  uint64_t t_stop = now_ns();
  d.request_stop();
  w.wait_until([&] { return worker.done(); }, 60, 0.25);
  worker.join();
  // The gate has closed every session once its descriptors are back.
  bool closed = w.wait_fds_at_most(fds_before, 30);
  double seconds_to_close = static_cast<double>(now_ns() - t_stop) / 1e9;
  const long rss_closed = w.rss_kb();
  std::string series = "[";
  for (int i = 0; i < static_cast<int>(std::ceil(s.settle)); ++i) {
    w.hold(1);
    series += (i == 0 ? "" : ",") + std::to_string(w.rss_kb());
  }
  series += "]";
  const long rss_after = w.rss_kb();
  phase.finish(5, checks);

  std::vector<uint64_t> lat;
  lat.reserve(d.samples().size());
  for (const auto& [due, ns] : d.samples()) lat.push_back(ns);
  const long peak = std::max(hwm, rss_peak_sampled);
  const uint64_t opened = d.ever_opened();
  const double kib_per_conn =
      opened == 0 ? 0.0 : static_cast<double>(rss_open - rss_before) / static_cast<double>(opened);
  const double kib_per_conn_peak =
      opened == 0 ? 0.0 : static_cast<double>(peak - rss_before) / static_cast<double>(opened);
  const double expected_echoes =
      static_cast<double>(s.connections) * std::floor(s.hold / s.echo_interval);

  checks->push_back(
      {"connections.served",
       all_tried && opened == s.connections && open_at_end == s.connections &&
           d.failed().count() == 0 && d.bad_echoes() == 0,
       fmt("%.0f of %.0f connections opened, %.0f still open after the hold, %.0f failures",
           static_cast<double>(opened), static_cast<double>(s.connections),
           static_cast<double>(open_at_end), static_cast<double>(d.failed().count())) +
           (d.failed().count() != 0 ? " " + d.failed().reasons_json() : "")});
  checks->push_back({"connections.echoed",
                     static_cast<double>(echoes_hold) >= 0.8 * expected_echoes,
                     fmt("%.0f echoes during the hold, bound >= 80%% of %.0f",
                         static_cast<double>(echoes_hold), expected_echoes)});
  checks->push_back(
      {"connections.rss_per_connection", opened > 0 && kib_per_conn_peak <= s.kib_per_connection,
       fmt("peak %.1f MiB - before %.1f MiB = %.1f KiB per connection, bound %.0f KiB", mib(peak),
           mib(rss_before), kib_per_conn_peak, s.kib_per_connection)});
  // Memory must go back: what stays after a spike is at most a tenth of the
  // spike, or 8 MiB when the spike was small, or 6 KiB per connection of the
  // peak: Asio's reactor keeps one descriptor state per socket it ever held
  // at once (two per connection), in a pool it reuses for later sockets:
  // bounded by the peak, not a leak. Measured after the trim: 4.6-5.1 KiB
  // per connection at 2,000 connections (eight runs, 2026-12-07; a bound of
  // 5 failed one run in three), 4.8 at 10,000. A leak of one read buffer
  // per connection (16 KiB or more) is still far above it.
  constexpr double kKeptPerConnectionKb = 6.0;
  const double allowed_kb =
      std::max({8192.0, 0.1 * static_cast<double>(peak - rss_before),
                kKeptPerConnectionKb * static_cast<double>(opened)});
  checks->push_back(
      {"connections.rss_returns", static_cast<double>(rss_after - rss_before) <= allowed_kb,
       fmt("%.1f MiB %.0f s after all closed vs %.1f MiB before (peak %.1f MiB); bound: before + ",
           mib(rss_after), s.settle, mib(rss_before), mib(peak)) +
           fmt("%.1f MiB (max of 8 MiB, 10%% of the spike, %.0f KiB per peak connection)",
               allowed_kb / 1024, kKeptPerConnectionKb)});

  Json out;
  out.add("phase", "connections")
      .add("connections", static_cast<uint64_t>(s.connections))
      .add("opened", opened)
      .add("open_after_hold", open_at_end)
      .add("open_at_hold_start", open_at_start)
      .add("seconds_to_open", seconds_to_open)
      .add("failures", d.failed().count())
      .add_raw("failure_reasons", d.failed().reasons_json())
      .add("broken", d.broken().count())
      .add("bad_echoes", d.bad_echoes())
      .add("echoes_during_hold", echoes_hold)
      .add("gate_cpu_s_during_hold", cpu_hold)
      .add("late_echoes", d.late())
      .add_raw("echo_latency", latency_json(lat))
      .add("rss_all_open_kb", static_cast<int64_t>(rss_open))
      .add("rss_peak_kb", static_cast<int64_t>(peak))
      .add("kib_per_connection_open", kib_per_conn)
      .add("kib_per_connection_peak", kib_per_conn_peak)
      .add("rss_closed_kb", static_cast<int64_t>(rss_closed))
      .add_raw("rss_after_series_kb", series)
      .add("rss_after_kb", static_cast<int64_t>(rss_after))
      .add("fds_peak", fds_peak)
      .add("all_closed", closed)
      .add("seconds_to_close", seconds_to_close);
  phase.report(out);
  return out.str();
}

}  // namespace tlsgate::bench
