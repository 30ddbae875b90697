// The soak's view of other processes: children it starts (the gate, the
// backend, `tlsgate cert`), and what /proc says about them — resident
// memory, its peak, and the open file descriptors by kind.
//
// Children are forked from the main thread only (PR_SET_PDEATHSIG follows
// the thread that forked), with stdout and stderr appended to a log file,
// stdin from /dev/null and RLIMIT_NOFILE's soft limit at the hard one. A
// Child that is still running when destroyed gets SIGKILL and is reaped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tlsgate::bench {

// Raises this process's RLIMIT_NOFILE soft limit to the hard limit (children
// inherit it); returns the new limit.
long raise_nofile_limit();

class Child {
 public:
  // Starts argv[0] (a path) with argv; dies when fork or exec fails.
  // `nofile` > 0 sets the child's RLIMIT_NOFILE (soft and hard) instead.
  Child(const std::vector<std::string>& argv, const std::string& log_file, long nofile = 0);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  void signal(int sig) const;
  // Waits up to `seconds` for the exit; false when it is still running.
  bool wait_exit(double seconds);
  // "exit 0", "signal 11 (Segmentation fault)", or "running".
  std::string how_ended() const;
  bool exited_cleanly() const { return ended_ && status_ == 0; }

 private:
  pid_t pid_ = -1;
  bool ended_ = false;
  int status_ = 0;  // waitpid status once ended_
};

// Runs argv to its end (at most `seconds`); dies with its output when it
// fails. For `tlsgate cert ...`.
void run_to_end(const std::vector<std::string>& argv, const std::string& log_file, double seconds);

struct ProcMemory {
  long rss_kb = -1;  // VmRSS
  long hwm_kb = -1;  // VmHWM: the peak of VmRSS since the process started
};
ProcMemory read_memory(pid_t pid);
// CPU seconds (user + system) pid has used so far; -1 when unreadable.
double read_cpu_seconds(pid_t pid);

// Open descriptors of pid (-1 when /proc cannot be read).
int count_fds(pid_t pid);
// Open descriptors by kind: "socket", "pipe", "anon_inode:[eventpoll]",
// "anon_inode:inotify", or the file's path.
std::map<std::string, int> fds_by_kind(pid_t pid);

// Size of a file in bytes and its number of lines (0, 0 when absent).
struct FileSize {
  uint64_t bytes = 0;
  uint64_t lines = 0;
};
FileSize file_size(const std::string& path);
// Lines of a file that contain needle.
uint64_t count_lines_with(const std::string& path, const std::string& needle);
// The last `max` lines of a file that contain needle.
std::vector<std::string> last_lines_with(const std::string& path, const std::string& needle,
                                         size_t max);
// The gate rate-limits per-connection failure lines; the sum of the "(N
// failure line(s) of this connector held back ...)" counts in its log.
uint64_t sum_held_back(const std::string& path);
// The text of a file from byte offset `from`, at most `max` bytes.
std::string read_tail(const std::string& path, uint64_t from, size_t max);

}  // namespace tlsgate::bench
