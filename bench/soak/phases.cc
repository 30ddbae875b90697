#include "phases.h"

#include <fstream>
#include <set>

namespace tlsgate::bench {

Scale full_scale() {
  Scale s;
  s.name = "full";
  return s;
}

Scale ci_scale() {
  Scale s;
  s.name = "ci";
  s.connections = 2000;
  s.echo_interval = 1;
  s.hold = 3;
  s.settle = 2;
  s.good_connections = 8;
  s.good_rate = 200;
  s.quiet = 3;
  s.hostile = 4;
  s.slowloris = 100;
  s.silent = 100;
  s.nonreaders = 50;
  s.idle_timeout = 3;
  s.close_slack = 1.5;  // a shared CI machine can be late
  s.hostile_mib = 64;
  s.bad_handshakes = 500;
  s.bad_concurrency = 16;
  s.churn_connections = 32;
  s.backend_kills = 1;
  s.sighup_for = 5;
  s.gate_nofile = 256;
  s.exhausted_for = 3;
  return s;
}

PhaseEnd end_phase(Harness& h, Watch& w, const std::string& phase, int fds_before,
                   const std::map<std::string, int>& kinds_before, double seconds,
                   std::vector<Check>* checks) {
  PhaseEnd e;
  uint64_t t0 = now_ns();
  bool back = w.wait_fds_at_most(fds_before, seconds);
  double waited = static_cast<double>(now_ns() - t0) / 1e9;
  e.fds_after = w.fds();
  e.alive = w.alive();
  Json diff;
  if (e.alive) {
    auto after = fds_by_kind(h.gate().pid());
    std::set<std::string> kinds;
    for (const auto& [k, n] : kinds_before) kinds.insert(k);
    for (const auto& [k, n] : after) kinds.insert(k);
    for (const auto& k : kinds) {
      int d = (after.count(k) != 0 ? after.at(k) : 0) -
              (kinds_before.count(k) != 0 ? kinds_before.at(k) : 0);
      if (d != 0) diff.add(k, d);
    }
  }
  e.fd_diff = diff.str();
  e.cpu_s = w.cpu_seconds();
  e.exit = h.stop_gate(15);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d descriptors after vs %d before (waited %.1f s of %.0f)",
                e.fds_after, fds_before, waited, seconds);
  checks->push_back({phase + ".fds_back", back && e.alive,
                     std::string(buf) + (e.fd_diff == "{}" ? "" : "; by kind " + e.fd_diff)});
  checks->push_back({phase + ".gate_alive", e.alive && e.exit == "exit 0",
                     std::string(e.alive ? "alive through the phase" : "DIED during the phase") +
                         "; after SIGTERM: " + e.exit});
  return e;
}

std::string log_problems_json(const std::string& log_file, uint64_t from) {
  std::ifstream in(log_file);
  in.seekg(static_cast<std::streamoff>(from));
  std::string line;
  uint64_t warn = 0;
  uint64_t error = 0;
  std::string first = "[";
  int shown = 0;
  while (std::getline(in, line)) {
    bool w = line.find(" warn ") != std::string::npos;
    bool e =
        line.find(" error ") != std::string::npos || line.find(" critical ") != std::string::npos;
    warn += w ? 1 : 0;
    error += e ? 1 : 0;
    if ((w || e) && shown < 3) {
      first += (shown++ == 0 ? "" : ",") + json_quote(line.substr(0, 400));
    }
  }
  return Json()
      .add("warn_lines", warn)
      .add("error_lines", error)
      .add_raw("first", first + "]")
      .str();
}

}  // namespace tlsgate::bench
