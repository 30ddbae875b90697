#include "proc.h"

#include <sys/resource.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util.h"

namespace tlsgate::bench {

std::vector<int> parse_pids(const std::string& list) {
  std::vector<int> pids;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    try {
      pids.push_back(std::stoi(item));
    } catch (const std::exception&) {
      die("--watch-pid: not a pid list: " + list);
    }
  }
  return pids;
}

namespace {

// utime + stime of a /proc/.../stat file in seconds; -1 when unreadable.
double stat_cpu_s(const std::string& path) {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream stat(path);
  std::string line;
  if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return -1;
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / ticks;
}

}  // namespace

ProcSample sample_procs(const std::vector<int>& pids) {
  ProcSample out;
  for (int pid : pids) {
    std::string dir = "/proc/" + std::to_string(pid);
    double cpu = stat_cpu_s(dir + "/stat");
    if (cpu < 0) {
      out.ok = false;
      continue;
    }
    out.cpu_s += cpu;
    std::error_code ec;
    int seen = 0;
    for (const auto& task : std::filesystem::directory_iterator(dir + "/task", ec)) {
      if (++seen > 4096) break;
      double t = stat_cpu_s(task.path().string() + "/stat");
      if (t >= 0)
        out.threads[static_cast<int>(std::strtol(task.path().filename().c_str(), nullptr, 10))] = t;
    }
    std::string line;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (int i = 0; i < 100 && std::getline(status, line); ++i) {
      if (line.rfind("VmRSS:", 0) == 0) {
        out.rss_kb += std::stol(line.substr(6));
        break;
      }
    }
  }
  return out;
}

}  // namespace tlsgate::bench

namespace tlsgate::bench {

double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

void add_proc_delta(Json& out, const std::vector<int>& pids, const ProcSample& before) {
  out.add("loadgen_cpu_s", self_cpu_s());
  if (pids.empty()) return;
  ProcSample after = sample_procs(pids);
  out.add("cpu_s", after.cpu_s - before.cpu_s);
  out.add("rss_kb", static_cast<int64_t>(after.rss_kb));
  out.add("pids_ok", before.ok && after.ok);
  std::vector<double> used;
  for (const auto& [tid, cpu] : after.threads) {
    auto was = before.threads.find(tid);
    double d = cpu - (was == before.threads.end() ? 0.0 : was->second);
    if (d > 0) used.push_back(d);
  }
  std::sort(used.rbegin(), used.rend());
  std::string list = "[";
  for (size_t i = 0; i < used.size() && i < 64; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.2f", i == 0 ? "" : ",", used[i]);
    list += buf;
  }
  out.add_raw("thread_cpu_s", list + "]");
}

}  // namespace tlsgate::bench
