// Running programs from a test: the one way tests start a process.
//
// ChildProcess is the only spawning code (fork/exec): servers the test keeps
// running (the gate, openssl s_server, mariadbd, redis-server) and the
// run-to-completion calls below (run_shell, run_command), which are a
// ChildProcess of /bin/sh -c waited for with a deadline. A child's output
// goes to a file (named, or an unlinked temp file), never to a pipe: a
// grandchild that keeps it open cannot hang the test, and output() can be
// read at any time. Every wait polls with a deadline; nothing sleeps a fixed
// time. Not thread-safe: one ChildProcess belongs to one test thread, and
// the thread that starts it must outlive it (PR_SET_PDEATHSIG is per thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tlsgate::test {

using Millis = std::chrono::milliseconds;

// A child process (fork/exec). stdin is a pipe the test writes to (or
// /dev/null), stdout and stderr go to `output_file` (or stderr to a file of
// its own). The child runs in a process group of its own, gets SIGKILL if
// the test thread that started it dies first (PR_SET_PDEATHSIG), and starts
// with SIGPIPE at its default disposition.
class ChildProcess {
 public:
  struct Options {
    std::filesystem::path output_file{};  // stdout (+ stderr); empty: an unlinked temp file
    bool stdin_pipe = false;              // else stdin is /dev/null
    bool stderr_apart = false;            // stderr to a temp file of its own (error_output())
    std::filesystem::path cwd{};          // working folder; empty: the test's
  };

  // Spawns argv (argv[0] is looked up in PATH); throws std::runtime_error
  // when it cannot be started.
  ChildProcess(std::vector<std::string> argv, Options options);
  ~ChildProcess();  // SIGTERM and 5 s, then SIGKILL to its process group
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the process has not exited (reaps it when it has).
  bool running();
  // Exit status once exited: the exit code, or 128+signal when killed.
  std::optional<int> exit_status() const { return status_; }
  // True once it has exited through a signal rather than exit().
  bool killed_by_signal() const { return signaled_; }

  bool write_stdin(const std::string& data);
  void close_stdin();

  // Everything the child wrote so far (stdout, and stderr unless apart).
  std::string output() const;
  // What it wrote to stderr, with Options::stderr_apart ("" otherwise).
  std::string error_output() const;
  // Polls output() until it contains needle; false at the deadline, or once
  // the child has exited without writing it.
  bool wait_for_output(const std::string& needle, Millis deadline);
  // Waits for a whole line of output that starts with `prefix`; the rest of
  // that line, or nullopt at the deadline or once the child has exited.
  std::optional<std::string> wait_for_line(const std::string& prefix, Millis deadline);
  // Polls until 127.0.0.1:port accepts a connection; false at the deadline
  // or as soon as the child exits.
  bool wait_for_port(int port, Millis deadline);
  // Waits for the child to exit; its exit status, or nullopt at the deadline.
  std::optional<int> wait_exit(Millis deadline);
  // Sends sig (SIGTERM by default) and waits up to deadline for the exit.
  std::optional<int> signal_and_wait(int sig, Millis deadline);
  // SIGKILL to the child's whole process group (what a shell started too),
  // and waits for the child.
  void kill_group();

  const std::string& command_line() const { return command_line_; }

 private:
  bool reap(bool block);
  // Calls find(output()) until it returns a value, the child has exited
  // (after one last look), or the deadline passes.
  std::optional<std::string> watch_output(
      const std::function<std::optional<std::string>(const std::string&)>& find, Millis deadline);
  // Waits up to `ms` for the child to exit (its pidfd), or just `ms`.
  void pause(int ms) const;

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  int out_fd_ = -1;  // read with pread: the child writes through its own offset
  int err_fd_ = -1;
  std::optional<int> status_;
  bool signaled_ = false;
  std::string command_line_;
};

// What a command run to completion left.
struct CommandResult {
  int code = -1;    // exit status; -1 when it was killed at the deadline
  std::string out;  // stdout (and stderr, for run_command)
  std::string err;  // stderr, kept apart by run_shell
};

// How long run_shell and run_command let a command run: every command a
// test runs is bounded, most of them far tighter (`timeout 15 ...`).
inline constexpr Millis kCommandDeadline{300000};

// Runs cmd with /bin/sh -c in cwd (empty: the test's), stdin /dev/null,
// stdout and stderr kept apart; waits for it up to `deadline`, then kills
// its process group and says so in err.
CommandResult run_shell(const std::string& cmd, const std::filesystem::path& cwd = {},
                        Millis deadline = kCommandDeadline);

// Runs cmd with /bin/sh -c, returns its stdout and stderr interleaved;
// *exit_code (if given) gets the exit status, or -1 if it did not exit
// normally or ran past kCommandDeadline.
std::string run_command(const std::string& cmd, int* exit_code = nullptr);

// Single-quotes s for /bin/sh.
std::string shell_quote(const std::string& s);
// A path, single-quoted for /bin/sh.
std::string q(const std::filesystem::path& p);
// argv as one shell command line, each word quoted.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace tlsgate::test
