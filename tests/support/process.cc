#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/loopback.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace tlsgate::test {
namespace {

using Clock = std::chrono::steady_clock;

// argv[0] as execve needs it: as given when it holds a '/', else the first
// executable of that name in $PATH; "" when there is none.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::string dirs = path == nullptr ? "/usr/bin:/bin" : path;
  size_t begin = 0;
  while (begin <= dirs.size()) {
    size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return "";
}

// A file the child writes to and the test reads back: `path`, or an
// unlinked temp file when path is empty. Opened for reading and writing.
int open_output(const std::filesystem::path& path) {
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path.string());
    return fd;
  }
  const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string tmpl = std::string(base ? base : "/tmp") + "/tlsgate-child-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot create a temp file like " + tmpl);
  ::unlink(tmpl.c_str());
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  if (fd < 0) return out;
  char buf[16384];
  off_t at = 0;
  while (true) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
}

// A file descriptor that becomes readable when the process exits; -1 where
// the kernel has no pidfd_open (then waits fall back to short polls).
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

CommandResult run(const std::string& cmd, const std::filesystem::path& cwd, Millis deadline,
                  bool stderr_apart) {
  ChildProcess child({"/bin/sh", "-c", cmd}, {.stderr_apart = stderr_apart, .cwd = cwd});
  CommandResult r;
  auto status = child.wait_exit(deadline);
  if (!status) child.kill_group();
  r.out = child.output();
  r.err = child.error_output();
  if (!status) {
    (stderr_apart ? r.err : r.out) += "\n[killed: still running after " +
                                      std::to_string(deadline.count() / 1000) + " s: " + cmd +
                                      "]\n";
  } else if (!child.killed_by_signal()) {
    r.code = *status;
  }
  return r;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, Options options) {
  if (argv.empty()) throw std::runtime_error("ChildProcess: empty argv");
  command_line_ = shell_join(argv);
  std::string program = find_program(argv[0]);
  if (program.empty()) {
    throw std::runtime_error("cannot start " + command_line_ + ": not found in PATH");
  }
  out_fd_ = open_output(options.output_file);
  if (options.stderr_apart) err_fd_ = open_output({});
  int in_pipe[2] = {-1, -1};
  if (options.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    close_fd(out_fd_);
    close_fd(err_fd_);
    throw std::runtime_error("pipe failed");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string cwd = options.cwd.string();
  const std::string cwd_error = "cannot enter " + cwd + "\n";
  int in = options.stdin_pipe ? in_pipe[0] : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err = err_fd_ >= 0 ? err_fd_ : out_fd_;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    // Dies with the test process, even when that one crashes or is killed,
    // so no server outlives its test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // A group of its own: a shell's children can be killed with it.
    ::setpgid(0, 0);
    // SIGPIPE at its default even if the test ignores it, so a program that
    // forgets to handle it is not hidden by the test.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::dup2(in, 0);
    ::dup2(out_fd_, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      ssize_t ignored = ::write(2, cwd_error.data(), cwd_error.size());
      (void)ignored;
      ::_exit(127);
    }
    ::execve(program.c_str(), args.data(), environ);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(in);
  if (pid < 0) {
    if (options.stdin_pipe) ::close(in_pipe[1]);
    close_fd(out_fd_);
    close_fd(err_fd_);
    throw std::runtime_error("cannot start " + command_line_ + ": " +
                             std::strerror(fork_errno));  // NOLINT(concurrency-mt-unsafe)
  }
  ::setpgid(pid, pid);  // also here, so kill_group() never races the child's own call
  pid_ = pid;
  pidfd_ = open_pidfd(pid);
  stdin_fd_ = options.stdin_pipe ? in_pipe[1] : -1;
}

ChildProcess::~ChildProcess() {
  close_stdin();
  if (pid_ > 0 && !status_ && !signal_and_wait(SIGTERM, Millis(5000))) kill_group();
  close_fd(pidfd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

bool ChildProcess::reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    signaled_ = !WIFEXITED(status);
    status_ = signaled_ ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return true;
  }
  return false;
}

void ChildProcess::pause(int ms) const {
  pollfd pfd{pidfd_, POLLIN, 0};
  if (pidfd_ >= 0 && !status_) {
    ::poll(&pfd, 1, ms);
  } else {
    ::poll(nullptr, 0, ms);
  }
}

bool ChildProcess::running() { return pid_ > 0 && !reap(false); }

bool ChildProcess::write_stdin(const std::string& data) {
  if (stdin_fd_ < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(stdin_fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void ChildProcess::close_stdin() { close_fd(stdin_fd_); }

std::string ChildProcess::output() const { return read_all(out_fd_); }

std::string ChildProcess::error_output() const { return read_all(err_fd_); }

std::optional<std::string> ChildProcess::watch_output(
    const std::function<std::optional<std::string>(const std::string&)>& find, Millis deadline) {
  auto until = Clock::now() + deadline;
  while (true) {
    bool exited = !running();  // before reading: the last look sees all it wrote
    if (auto found = find(output())) return found;
    if (exited || Clock::now() >= until) return std::nullopt;
    pause(10);
  }
}

bool ChildProcess::wait_for_output(const std::string& needle, Millis deadline) {
  return watch_output(
             [&](const std::string& out) -> std::optional<std::string> {
               if (out.find(needle) == std::string::npos) return std::nullopt;
               return needle;
             },
             deadline)
      .has_value();
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& prefix, Millis deadline) {
  return watch_output(
      [&](const std::string& out) -> std::optional<std::string> {
        for (size_t begin = 0, end; (end = out.find('\n', begin)) != std::string::npos;
             begin = end + 1) {
          if (out.compare(begin, prefix.size(), prefix) == 0) {
            return out.substr(begin + prefix.size(), end - begin - prefix.size());
          }
        }
        return std::nullopt;
      },
      deadline);
}

bool ChildProcess::wait_for_port(int port, Millis deadline) {
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (loopback_port_accepts(port)) return true;
    if (!running()) return false;
    pause(10);
  }
  return false;
}

std::optional<int> ChildProcess::wait_exit(Millis deadline) {
  auto until = Clock::now() + deadline;
  while (true) {
    if (!running()) return status_;
    auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    // With a pidfd this wakes at the exit; without, it polls every 5 ms.
    pause(pidfd_ >= 0 ? static_cast<int>(left) : 5);
  }
}

std::optional<int> ChildProcess::signal_and_wait(int sig, Millis deadline) {
  if (running()) ::kill(pid_, sig);
  return wait_exit(deadline);
}

void ChildProcess::kill_group() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  // SIGKILL cannot be caught: the child is gone as soon as the kernel is done with it.
  if (!status_) reap(true);
}

CommandResult run_shell(const std::string& cmd, const std::filesystem::path& cwd, Millis deadline) {
  return run(cmd, cwd, deadline, true);
}

std::string run_command(const std::string& cmd, int* exit_code) {
  auto r = run(cmd, {}, kCommandDeadline, false);
  if (exit_code != nullptr) *exit_code = r.code;
  return r.out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string q(const std::filesystem::path& p) { return shell_quote(p.string()); }

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

}  // namespace tlsgate::test
