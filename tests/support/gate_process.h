// Running `tlsgate serve` and its peers from a test: free loopback ports, a
// child process with its output in a log file, the gate itself, and a tiny
// TCP echo backend.
//
// Everything listens on 127.0.0.1 only. Every wait is bounded by a deadline
// and polls for the event it waits for (a connect that succeeds, a line in a
// log, a child that exits) instead of sleeping a fixed time. Destructors stop
// what was started (SIGTERM, then SIGKILL after a bounded wait) and reap it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tlsgate::test {

using Millis = std::chrono::milliseconds;

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
// the port the kernel chose, close).
int free_loopback_port();

// One connect attempt to 127.0.0.1:port; true when it was accepted.
bool loopback_port_accepts(int port);

// A child process (fork/exec). stdin is a pipe the test writes to (or
// /dev/null), stdout and stderr both go to `output_file`. The child gets
// SIGKILL if the test process dies first (PR_SET_PDEATHSIG), and starts with
// SIGPIPE at its default disposition.
class ChildProcess {
 public:
  struct Options {
    std::filesystem::path output_file;  // required: stdout + stderr
    bool stdin_pipe = false;            // else stdin is /dev/null
  };

  // Spawns argv (argv[0] is looked up in PATH); throws std::runtime_error
  // when it cannot be started.
  ChildProcess(std::vector<std::string> argv, Options options);
  ~ChildProcess();  // terminate(5 s), then SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the process has not exited (reaps it when it has).
  bool running();
  // Exit status once exited: the exit code, or 128+signal when killed.
  std::optional<int> exit_status() const { return status_; }

  bool write_stdin(const std::string& data);
  void close_stdin();

  // Everything the child wrote so far.
  std::string output() const;
  // Polls output() until it contains needle; false at the deadline.
  bool wait_for_output(const std::string& needle, Millis deadline) const;
  // Polls until 127.0.0.1:port accepts a connection; false at the deadline
  // or as soon as the child exits.
  bool wait_for_port(int port, Millis deadline);
  // Waits for the child to exit; its exit status, or nullopt at the deadline.
  std::optional<int> wait_exit(Millis deadline);
  // Sends sig (SIGTERM by default) and waits up to deadline for the exit.
  std::optional<int> signal_and_wait(int sig, Millis deadline);

  const std::string& command_line() const { return command_line_; }

 private:
  bool reap(bool block);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> status_;
  std::filesystem::path output_file_;
  std::string command_line_;
};

// `$TLSGATE_BIN serve -c DIR/tlsgate.conf`, its stderr in DIR/gate.log.
class GateProcess {
 public:
  // The binary under test ($TLSGATE_BIN); "" when unset.
  static std::string binary();

  // Writes config_text to dir/<name>.conf and starts the gate with it (and
  // `args` after `serve -c FILE`).
  GateProcess(const std::filesystem::path& dir, const std::string& config_text,
              const std::string& name = "tlsgate", const std::vector<std::string>& args = {});
  // SIGTERM and a bounded wait (SIGKILL after it).
  ~GateProcess() = default;

  // Waits until 127.0.0.1:port accepts connections. Returns "" when it does,
  // else why not (with the log). The probe connection is closed at once
  // without sending a byte.
  std::string wait_listening(int port, Millis deadline = Millis(10000));

  // SIGTERM, then waits up to deadline; the exit status, or nullopt.
  std::optional<int> terminate(Millis deadline = Millis(10000));
  std::optional<int> wait_exit(Millis deadline) { return child_->wait_exit(deadline); }
  bool running() { return child_->running(); }
  pid_t pid() const { return child_->pid(); }

  // The log so far (stderr of the gate).
  std::string log() const { return child_->output(); }
  bool wait_for_log(const std::string& needle, Millis deadline = Millis(5000)) const {
    return child_->wait_for_output(needle, deadline);
  }
  const std::filesystem::path& config_file() const { return config_file_; }

 private:
  std::filesystem::path config_file_;
  std::unique_ptr<ChildProcess> child_;
};

// A TCP echo backend on 127.0.0.1: every connection gets back exactly the
// bytes it sends; when the client half-closes (FIN), the echo finishes
// writing and half-closes too. One thread accepts, one thread per connection
// echoes; every blocking call polls with a short timeout and checks the stop
// flag, so the destructor ends everything within about 100 ms.
class EchoServer {
 public:
  EchoServer();  // throws std::runtime_error when it cannot listen
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Bytes echoed back, over all connections.
  long long echoed_bytes() const { return echoed_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<long long> echoed_{0};
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace tlsgate::test
