#include "support/gate_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/process.h"
#include "support/temp_dir.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace tlsgate::test {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Waits up to `ms` for something else to happen: used between polls of a
// condition (a file's contents, a child's state) that has no fd to wait on.
void pause_ms(int ms) { ::poll(nullptr, 0, ms); }

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

}  // namespace

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to 127.0.0.1:0 failed");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool loopback_port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto addr = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// ---------------------------------------------------------------- ChildProcess

ChildProcess::ChildProcess(std::vector<std::string> argv, Options options)
    : output_file_(std::move(options.output_file)) {
  if (argv.empty()) throw std::runtime_error("ChildProcess: empty argv");
  for (const auto& a : argv) command_line_ += (command_line_.empty() ? "" : " ") + shell_quote(a);
  int out = ::open(output_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot create " + output_file_.string());
  int in_pipe[2] = {-1, -1};
  if (options.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    ::close(out);
    throw std::runtime_error("pipe failed");
  }
  std::string program = find_program(argv[0]);
  if (program.empty()) {
    ::close(out);
    if (options.stdin_pipe) {
      ::close(in_pipe[0]);
      ::close(in_pipe[1]);
    }
    throw std::runtime_error("cannot start " + command_line_ + ": not found in PATH");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int in = options.stdin_pipe ? in_pipe[0] : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    // Dies with the test process, even when that one crashes or is killed,
    // so no gate outlives its test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // SIGPIPE at its default even if the test ignores it, so a program that
    // forgets to handle it is not hidden by the test.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(program.c_str(), args.data(), environ);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(out);
  ::close(in);
  if (pid < 0) {
    if (options.stdin_pipe) ::close(in_pipe[1]);
    throw std::runtime_error("cannot start " + command_line_ + ": " +
                             std::strerror(fork_errno));  // NOLINT
  }
  pid_ = pid;
  stdin_fd_ = options.stdin_pipe ? in_pipe[1] : -1;
}

ChildProcess::~ChildProcess() {
  close_stdin();
  if (pid_ > 0 && !status_) {
    if (!signal_and_wait(SIGTERM, Millis(5000))) signal_and_wait(SIGKILL, Millis(5000));
  }
}

bool ChildProcess::reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  return false;
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

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

std::string ChildProcess::output() const {
  std::ifstream in(output_file_, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool ChildProcess::wait_for_output(const std::string& needle, Millis deadline) const {
  auto until = Clock::now() + deadline;
  while (true) {
    if (output().find(needle) != std::string::npos) return true;
    if (Clock::now() >= until) return false;
    pause_ms(10);
  }
}

bool ChildProcess::wait_for_port(int port, Millis deadline) {
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (loopback_port_accepts(port)) return true;
    if (!running()) return false;
    pause_ms(10);
  }
  return false;
}

std::optional<int> ChildProcess::wait_exit(Millis deadline) {
  auto until = Clock::now() + deadline;
  while (true) {
    if (!running()) return status_;
    if (Clock::now() >= until) return std::nullopt;
    pause_ms(5);
  }
}

std::optional<int> ChildProcess::signal_and_wait(int sig, Millis deadline) {
  if (running()) ::kill(pid_, sig);
  return wait_exit(deadline);
}

// ---------------------------------------------------------------- GateProcess

std::string GateProcess::binary() {
  const char* bin = std::getenv("TLSGATE_BIN");  // NOLINT(concurrency-mt-unsafe)
  return bin == nullptr ? std::string() : std::string(bin);
}

GateProcess::GateProcess(const std::filesystem::path& dir, const std::string& config_text,
                         const std::string& name, const std::vector<std::string>& args)
    : config_file_(dir / (name + ".conf")) {
  if (binary().empty()) throw std::runtime_error("TLSGATE_BIN is not set (run through ctest)");
  write_text(config_file_, config_text, 0644);
  std::vector<std::string> argv{binary(), "serve", "-c", config_file_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ =
      std::make_unique<ChildProcess>(argv, ChildProcess::Options{dir / (name + ".log"), false});
}

std::string GateProcess::wait_listening(int port, Millis deadline) {
  if (child_->wait_for_port(port, deadline)) return "";
  std::string why =
      child_->running()
          ? "did not listen on 127.0.0.1:" + std::to_string(port) + " in time"
          : "exited with status " + std::to_string(child_->exit_status().value_or(-1));
  return "tlsgate serve " + why + "\n--- config ---\n" + config_file_.string() + "\n--- log ---\n" +
         log();
}

std::optional<int> GateProcess::terminate(Millis deadline) {
  return child_->signal_and_wait(SIGTERM, deadline);
}

// ---------------------------------------------------------------- EchoServer

EchoServer::EchoServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("echo server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

EchoServer::~EchoServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) {
    if (t.joinable()) t.join();
  }
  ::close(listen_fd_);
}

void EchoServer::accept_loop() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    accepted_++;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void EchoServer::serve(int fd) {
  std::vector<char> buf(size_t{64} * 1024);
  // Waits for `events` on fd; false when the server stops or the peer is gone.
  auto ready = [&](short events) {
    while (!stop_) {
      pollfd pfd{fd, events, 0};
      int n = ::poll(&pfd, 1, 50);
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
    return false;
  };
  bool ok = true;
  while (ok && ready(POLLIN)) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // the client half-closed: everything is echoed, so half-close too
      ::shutdown(fd, SHUT_WR);
      // Wait (bounded by stop_) for the other side to close before closing,
      // so that close() never turns into a reset.
      while (ready(POLLIN)) {
        if (::recv(fd, buf.data(), buf.size(), 0) <= 0) break;
      }
      break;
    }
    if (n < 0) break;
    size_t done = 0;
    while (done < static_cast<size_t>(n)) {
      if (!ready(POLLOUT)) {
        ok = false;
        break;
      }
      ssize_t w =
          ::send(fd, buf.data() + done, static_cast<size_t>(n) - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      done += static_cast<size_t>(w);
      echoed_ += w;
    }
  }
  ::close(fd);
}

}  // namespace tlsgate::test
