// The soak phases (bench/README.md, "Soak"). Each starts its own
// backend and gate, puts its load on them, samples the gate, stops it and
// returns one JSON object: the figures, and `checks` — each a named bound
// with what was measured against it. Scale holds every number, so that the
// full form and the CI form (tests/soak/) run the same code.
#pragma once

#include <string>
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

// What every phase ends with: the gate's descriptors back to `fds_before`
// (waiting up to `seconds` after the load has closed), the gate still alive,
// then SIGTERM and a clean exit. Adds the checks fds_back and gate_alive.
struct PhaseEnd {
  int fds_after = -1;
  std::string fd_diff;  // JSON: descriptors by kind, after minus before
  bool alive = false;
  double cpu_s = 0;  // the gate's CPU seconds at the end of the phase, before SIGTERM
  std::string exit;  // how the gate ended after SIGTERM
};
PhaseEnd end_phase(Harness& h, Watch& w, const std::string& phase, int fds_before,
                   const std::map<std::string, int>& kinds_before, double seconds,
                   std::vector<Check>* checks);

// Lines of the gate's log at warn or error (count) and the first few.
std::string log_problems_json(const std::string& log_file, uint64_t from);

}  // namespace tlsgate::bench
