// descriptors: the gate out of file descriptors. It runs with a small
// RLIMIT_NOFILE (`gate_nofile`); echoing TLS connections fill it (those past
// the limit fail when the gate cannot open their backend socket), a few
// silent TCP connections take the last descriptors, so that accept(2) fails
// with EMFILE while more clients wait. The gate must not spin on its
// listener meanwhile, and must serve again once descriptors are free.
#include <unistd.h>

#include "echo_driver.h"
#include "handshake_drivers.h"
#include "phases.h"

namespace tlsgate::bench {
namespace {

// Plain TCP connections to port that send nothing; their fds (connected or not).
std::vector<int> hold_silent(uint16_t port, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    bool connected = false;
    int fd = connect_tcp("127.0.0.1", port, &connected);
    if (fd >= 0) fds.push_back(fd);
  }
  return fds;
}

}  // namespace

std::string run_descriptors(Harness& h, const Scale& s, std::vector<Check>* checks) {
  GateConfig g;
  g.nofile = s.gate_nofile;
  auto ctx = h.client_ctx();
  Phase phase(h, "descriptors", g, ctx.get(), 16);
  Watch& w = phase.watch();
  const int fds_before = phase.before().fds;

  // Fill: more connections than the descriptors allow.
  EchoOptions e;
  e.connections = static_cast<size_t>(s.gate_nofile / 2);
  e.in_flight = 32;
  e.interval = kSecond;
  e.size = 64;
  e.handshake_timeout = 20 * kSecond;
  EchoDriver fill(h.client_options(0), ctx.get(), e);
  Worker fill_worker([&] { fill.run(now_ns() + 120 * kSecond); });
  w.wait_until([&] { return fill.all_tried(); }, 60);
  const uint64_t filled = fill.open_now();
  const int fds_full = w.fds();

  // The last descriptors go to silent connections; then more clients come.
  std::vector<int> holders = hold_silent(h.gate_port(), 4);
  w.hold(0.3);
  BadCertDriver excess(h.client_options(8), ctx.get(), 8, static_cast<uint64_t>(6 * 1e9));
  Worker excess_worker([&] { excess.run(now_ns() + 30 * kSecond); });
  w.hold(0.5);
  const double cpu0 = w.cpu_seconds();
  const uint64_t t0 = now_ns();
  w.hold(s.exhausted_for);
  const double cpu_per_s = (w.cpu_seconds() - cpu0) / (static_cast<double>(now_ns() - t0) / 1e9);
  const int fds_exhausted = w.fds();
  for (int fd : holders) ::close(fd);
  w.wait_until([&] { return excess_worker.done(); }, 30);
  excess_worker.join();
  fill.request_stop();
  w.wait_until([&] { return fill_worker.done(); }, 30);
  fill_worker.join();

  // Free again: new clients must be served.
  bool back = w.wait_fds_at_most(fds_before, 15);
  HandshakeLoop after(h.client_options(4), ctx.get(), 0, 16, 10 * kSecond);
  after.run(now_ns() + 20 * kSecond);
  const uint64_t emfile_lines = count_lines_with(h.gate_log(), "Too many open files");
  phase.finish(5, checks);

  checks->push_back({"descriptors.no_spin", cpu_per_s <= s.exhausted_cpu,
                     fmt("the gate used %.2f CPU seconds per second while out of descriptors with "
                         "%.0f clients waiting, bound %.2f",
                         cpu_per_s, 8, s.exhausted_cpu)});
  checks->push_back(
      {"descriptors.recovers", back && after.ops_now() >= 16 && after.failed().count() == 0,
       fmt("%.0f new handshakes and echoes (16 wanted) worked once descriptors were free, %.0f "
           "failed",
           static_cast<double>(after.ops_now()), static_cast<double>(after.failed().count())) +
           (after.failed().count() != 0 ? " " + after.failed().reasons_json() : "")});

  Json out;
  out.add("phase", "descriptors")
      .add("gate_nofile", static_cast<int64_t>(s.gate_nofile))
      .add("fill_connections", static_cast<uint64_t>(e.connections))
      .add("fill_opened", filled)
      .add("fill_failures", fill.failed().count())
      .add_raw("fill_failure_reasons", fill.failed().reasons_json())
      .add("fds_full", fds_full)
      .add("fds_exhausted", fds_exhausted)
      .add("exhausted_seconds", s.exhausted_for)
      .add("gate_cpu_per_s_exhausted", cpu_per_s)
      .add("excess_clients", excess.attempted())
      .add("excess_served", excess.accepted())
      .add("excess_closed", excess.refused())
      .add_raw("excess_closed_as", excess.refusals().reasons_json())
      .add("excess_unanswered_6s", excess.timeouts())
      .add("after_ok", after.ops_now())
      .add("log_too_many_open_files", emfile_lines);
  phase.report(out);
  return out.str();
}

}  // namespace tlsgate::bench
