#include "process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <sstream>

#include "util.h"

namespace tlsgate::bench {

long raise_nofile_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) die("getrlimit(RLIMIT_NOFILE) failed");
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    die(std::string("cannot raise RLIMIT_NOFILE to its hard limit: ") +
        std::strerror(errno));  // NOLINT
  }
  return static_cast<long>(lim.rlim_cur);
}

Child::Child(const std::vector<std::string>& argv, const std::string& log_file, long nofile) {
  // Everything the child needs is built before fork: only async-signal-safe
  // calls may follow it in a threaded parent.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) die(std::string("fork: ") + std::strerror(errno));  // NOLINT
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    int out = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) ::_exit(126);
    if (nofile > 0) {
      rlimit lim{static_cast<rlim_t>(nofile), static_cast<rlim_t>(nofile)};
      if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(125);
    }
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    static constexpr char kMsg[] = "soak: exec failed\n";
    [[maybe_unused]] auto w = ::write(2, kMsg, sizeof kMsg - 1);
    ::_exit(127);
  }
}

Child::~Child() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(10);
  }
}

bool Child::running() {
  if (ended_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    ended_ = true;
    status_ = status;
    return false;
  }
  return true;
}

void Child::signal(int sig) const {
  if (!ended_) ::kill(pid_, sig);
}

bool Child::wait_exit(double seconds) {
  uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  while (running()) {
    if (now_ns() >= deadline) return false;
    timespec ts{0, 10'000'000};
    ::nanosleep(&ts, nullptr);
  }
  return true;
}

std::string Child::how_ended() const {
  if (!ended_) return "running";
  if (WIFEXITED(status_)) return "exit " + std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) {
    int sig = WTERMSIG(status_);
    return "signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";  // NOLINT
  }
  return "status " + std::to_string(status_);
}

void run_to_end(const std::vector<std::string>& argv, const std::string& log_file, double seconds) {
  Child c(argv, log_file);
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  if (!c.wait_exit(seconds)) die(cmd + ": still running after " + std::to_string(seconds) + " s");
  if (!c.exited_cleanly()) {
    die(cmd + ": " + c.how_ended() + "; its output: " + read_tail(log_file, 0, 4096));
  }
}

ProcMemory read_memory(pid_t pid) {
  ProcMemory m;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  for (int i = 0; i < 100 && std::getline(status, line); ++i) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stol(line.substr(6));
  }
  return m;
}

double read_cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return -1;
  // After "(comm) ": field 3 is the state; utime is field 14, stime 15.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

namespace {

// Calls f(target) for each open descriptor; false when /proc cannot be read.
template <typename F>
bool each_fd(pid_t pid, F f) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  for (int i = 0; i < 1'000'000; ++i) {
    dirent* e = ::readdir(d);  // NOLINT(concurrency-mt-unsafe): one reader per DIR
    if (e == nullptr) break;
    if (e->d_name[0] == '.') continue;
    f(dir + "/" + e->d_name);
  }
  ::closedir(d);
  return true;
}

}  // namespace

int count_fds(pid_t pid) {
  int n = 0;
  if (!each_fd(pid, [&n](const std::string&) { ++n; })) return -1;
  return n;
}

std::map<std::string, int> fds_by_kind(pid_t pid) {
  std::map<std::string, int> kinds;
  each_fd(pid, [&kinds](const std::string& link) {
    char buf[512];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) return;
    std::string target(buf, static_cast<size_t>(n));
    if (target.rfind("socket:", 0) == 0) target = "socket";
    if (target.rfind("pipe:", 0) == 0) target = "pipe";
    ++kinds[target];
  });
  return kinds;
}

FileSize file_size(const std::string& path) {
  FileSize s;
  std::ifstream in(path, std::ios::binary);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    auto n = static_cast<size_t>(in.gcount());
    s.bytes += n;
    for (size_t i = 0; i < n; ++i) s.lines += buf[i] == '\n' ? 1 : 0;
  }
  return s;
}

uint64_t count_lines_with(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

std::vector<std::string> last_lines_with(const std::string& path, const std::string& needle,
                                         size_t max) {
  std::ifstream in(path);
  std::string line;
  std::deque<std::string> kept;
  while (std::getline(in, line)) {
    if (line.find(needle) == std::string::npos) continue;
    kept.push_back(line);
    if (kept.size() > max) kept.pop_front();
  }
  return {kept.begin(), kept.end()};
}

uint64_t sum_held_back(const std::string& path) {
  static const std::string kTag = " failure line(s) of this connector held back";
  std::ifstream in(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    auto at = line.find(kTag);
    if (at == std::string::npos) continue;
    auto open = line.rfind('(', at);
    if (open != std::string::npos) n += std::strtoull(line.c_str() + open + 1, nullptr, 10);
  }
  return n;
}

std::string read_tail(const std::string& path, uint64_t from, size_t max) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(max, '\0');
  in.read(out.data(), static_cast<std::streamsize>(max));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

}  // namespace tlsgate::bench
