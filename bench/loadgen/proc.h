// What /proc says about the processes of the system under test: CPU time
// (utime + stime of every thread, live or exited, from /proc/PID/stat) and
// resident memory (VmRSS from /proc/PID/status), summed over a pid list.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tlsgate::bench {

struct ProcSample {
  double cpu_s = 0;  // user + system seconds
  long rss_kb = 0;
  bool ok = true;                 // every pid was readable
  std::map<int, double> threads;  // tid -> CPU seconds of each live thread
};

// "123,456" -> {123, 456}; empty for "".
std::vector<int> parse_pids(const std::string& list);
ProcSample sample_procs(const std::vector<int>& pids);

}  // namespace tlsgate::bench

namespace tlsgate::bench {

class Json;

// CPU seconds (user + system) this process used so far.
double self_cpu_s();

// Adds "loadgen_cpu_s" (this process so far) and, for a non-empty pid list,
// "cpu_s" (CPU the pids used since `before`), "rss_kb", "pids_ok" and
// "thread_cpu_s" (each thread that ran, most first) to out.
void add_proc_delta(Json& out, const std::vector<int>& pids, const ProcSample& before);

}  // namespace tlsgate::bench
