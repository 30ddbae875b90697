// The soak phases (bench/README.md, "Soak"). Each starts its own
// backend and gate (a Phase, harness.h), puts its load on them, samples the
// gate, stops it and returns one JSON object: the figures, and `checks` —
// each a named bound with what was measured against it. Scale holds every
// number, so that the full form and the CI form (tests/soak/) run the same
// code.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"

namespace tlsgate::bench {

struct Scale {
  std::string name;
  // connections: many long-lived TLS connections, each echoing periodically.
  size_t connections = 10000;
  size_t in_flight = 64;           // handshakes at a time while they open
  double echo_interval = 2;        // s between echoes of one connection
  double hold = 10;                // s all connections stay open and echo
  double settle = 5;               // s after the last one closed before RSS is read
  double kib_per_connection = 64;  // bound: RSS growth per open connection
  // hostile: slowloris, silent and non-reading clients next to good ones.
  size_t good_connections = 16;
  double good_rate = 500;  // echoes per second over all good connections
  double quiet = 8;        // s of good traffic alone (before and after)
  double hostile = 20;     // s the hostile clients keep coming
  size_t slowloris = 500;
  size_t silent = 500;
  size_t nonreaders = 200;
  double handshake_timeout = 2;  // ssl.policy.soak.handshake_timeout
  double idle_timeout = 5;       // server.idle_timeout
  double close_slack = 1;        // s a timeout may be late, as the client sees it
  double hostile_mib = 128;      // bound: RSS growth under attack
  double p99_factor = 2;         // bound: good echo p99 under attack / quiet
  // badcert: a storm of handshakes with untrusted client certificates.
  uint64_t bad_handshakes = 5000;
  size_t bad_concurrency = 32;
  double log_bytes_per_failure = 512;  // bound
  // churn: backend killed and restarted, then SIGHUP storms, under load.
  size_t churn_connections = 64;
  int backend_kills = 3;
  double backend_down = 1;  // s
  double recovery = 15;     // bound: s from the backend's restart to all echoing again
  double sighup_for = 30;   // s
  double sighup_every = 0.1;
  // descriptors: the gate at its RLIMIT_NOFILE with clients waiting.
  long gate_nofile = 1024;
  double exhausted_for = 5;    // s the gate is held out of descriptors
  double exhausted_cpu = 0.2;  // bound: the gate's CPU seconds per second meanwhile
};

Scale full_scale();
Scale ci_scale();

// Each returns the phase's JSON object and appends its checks to `checks`.
std::string run_connections(Harness& h, const Scale& s, std::vector<Check>* checks);
std::string run_hostile(Harness& h, const Scale& s, std::vector<Check>* checks);
std::string run_badcert(Harness& h, const Scale& s, std::vector<Check>* checks);
std::string run_churn(Harness& h, const Scale& s, std::vector<Check>* checks);
std::string run_descriptors(Harness& h, const Scale& s, std::vector<Check>* checks);

// For the phases' figures and check details.
double mib(long kb);
// printf-style text of up to five numbers.
std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0, double e = 0);
// The latencies (second) of the samples whose time (first) is in [from, to).
std::vector<uint64_t> window(const std::vector<std::pair<uint64_t, uint64_t>>& samples,
                             uint64_t from, uint64_t to);

}  // namespace tlsgate::bench
