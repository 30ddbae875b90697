#include "phases.h"

#include <cstdio>

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

double mib(long kb) { return static_cast<double>(kb) / 1024.0; }

std::string fmt(const char* f, double a, double b, double c, double d, double e) {
  char buf[320];
  std::snprintf(buf, sizeof buf, f, a, b, c, d, e);
  return buf;
}

std::vector<uint64_t> window(const std::vector<std::pair<uint64_t, uint64_t>>& samples,
                             uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (const auto& [at, ns] : samples) {
    if (at >= from && at < to) out.push_back(ns);
  }
  return out;
}

}  // namespace tlsgate::bench
