// Helpers for the end-to-end tests: run the real `tlsgate` binary (from
// $TLSGATE_BIN) and the real `openssl` CLI, read files and modes, and start an
// `openssl s_server` on 127.0.0.1 for the live-peer verbs.
//
// Header-only on purpose: tlsgate_test() compiles only *_test.cc files.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/temp_dir.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace tlsgate::e2e {

namespace fs = std::filesystem;
using test::shell_quote;

inline std::string q(const fs::path& p) { return shell_quote(p.string()); }

// The binary under test; fails the test (not the process) when unset.
inline std::string tlsgate_bin() {
  const char* bin = std::getenv("TLSGATE_BIN");  // NOLINT(concurrency-mt-unsafe)
  return bin == nullptr ? std::string() : std::string(bin);
}

struct Proc {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command line in `cwd` with stdout and stderr kept apart.
inline Proc sh(const fs::path& cwd, const std::string& cmd) {
  static int counter = 0;
  fs::path err_file =
      fs::temp_directory_path() /
      ("tlsgate-e2e-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  Proc r;
  r.out = test::run_command("cd " + q(cwd) + " && { " + cmd + " ; } 2>" + q(err_file), &r.code);
  std::error_code ec;
  if (fs::exists(err_file, ec)) {
    r.err = read_file(err_file);
    fs::remove(err_file, ec);
  }
  return r;
}

// `tlsgate ARGS` in cwd; ARGS is a shell fragment (quote paths with q()).
inline Proc tlsgate(const fs::path& cwd, const std::string& args) {
  return sh(cwd, shell_quote(tlsgate_bin()) + " " + args);
}

inline std::string describe(const Proc& r) {
  return "exit " + std::to_string(r.code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" +
         r.err;
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

inline unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xffffffffU;
  return st.st_mode & 07777U;
}

// Public key of a PEM/DER private key or certificate, as PEM, through openssl.
inline std::string openssl_pubkey_of_key(const fs::path& dir, const fs::path& key,
                                         const std::string& inform = "PEM") {
  return sh(dir, "openssl pkey -in " + q(key) + " -inform " + inform + " -pubout").out;
}
inline std::string openssl_pubkey_of_cert(const fs::path& dir, const fs::path& cert) {
  return sh(dir, "openssl x509 -in " + q(cert) + " -noout -pubkey").out;
}

// The SPKI SHA-256 pin of a certificate per openssl: {hex, base64}.
inline std::pair<std::string, std::string> openssl_pin(const fs::path& dir, const fs::path& cert) {
  std::string spki = "openssl x509 -in " + q(cert) +
                     " -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256";
  std::string hex = sh(dir, spki + " -r").out;
  hex = hex.substr(0, hex.find(' '));
  std::string b64 = trim(sh(dir, spki + " -binary | base64").out);
  return {hex, b64};
}

// The serial as openssl prints it, in tlsgate's spelling: lower case, no leading zeros.
inline std::string openssl_serial(const fs::path& dir, const fs::path& cert) {
  std::string s = trim(sh(dir, "openssl x509 -noout -serial -in " + q(cert)).out);
  if (s.rfind("serial=", 0) == 0) s = s.substr(7);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  s.erase(0, s.find_first_not_of('0'));
  return s;
}

// Bits in a hex number without leading zeros.
inline int hex_bits(const std::string& hex) {
  if (hex.empty()) return 0;
  int first = std::stoi(hex.substr(0, 1), nullptr, 16);
  int top = 0;
  while (first > 0) {
    ++top;
    first >>= 1;
  }
  return static_cast<int>(hex.size() - 1) * 4 + top;
}

// A port on 127.0.0.1 that was free a moment ago (bind 0, read, close).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
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

inline bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// `openssl s_server -accept 127.0.0.1:PORT -cert C -key K`, started by the
// test, stopped (SIGTERM, reaped) by the destructor. start() waits until a
// TCP connect succeeds, or the deadline passes, or the server exits.
class OpensslServer {
 public:
  OpensslServer(fs::path cert, fs::path key) : cert_(std::move(cert)), key_(std::move(key)) {}
  ~OpensslServer() { stop(); }
  OpensslServer(const OpensslServer&) = delete;
  OpensslServer& operator=(const OpensslServer&) = delete;

  // Returns "" when listening, else why not.
  std::string start(std::chrono::seconds deadline = std::chrono::seconds(15)) {
    port_ = free_port();
    // stdin is a pipe the test holds open: s_server stops at EOF on stdin.
    int in_fds[2];
    int out_fds[2];
    if (::pipe2(in_fds, O_CLOEXEC) != 0) return "pipe failed";
    if (::pipe2(out_fds, O_CLOEXEC) != 0) return "pipe failed";
    std::string accept = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {"openssl", "s_server",     "-quiet", "-accept",    accept,
                                     "-cert",   cert_.string(), "-key",   key_.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_fds[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out_fds[1], 2);
    for (int fd : {in_fds[0], in_fds[1], out_fds[0], out_fds[1]}) {
      posix_spawn_file_actions_addclose(&actions, fd);
    }
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_fds[0]);
    ::close(out_fds[1]);
    in_fd_ = in_fds[1];
    out_fd_ = out_fds[0];
    if (rc != 0) return "cannot start openssl s_server";
    pid_ = pid;
    // Poll: try to connect; in between, wait on the server's output (an event,
    // not a fixed sleep) so that a server that dies is noticed at once.
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      if (can_connect(port_)) return "";
      pollfd pfd{out_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) > 0) {
        char buf[4096];
        ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n > 0) {
          output_.append(buf, static_cast<size_t>(n));
        } else {  // EOF: the server is gone
          int status = 0;
          ::waitpid(pid_, &status, 0);
          pid_ = -1;
          return "openssl s_server exited: " + output_;
        }
      }
    }
    return "openssl s_server did not listen on " + accept + " in time: " + output_;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    for (int* fd : {&in_fd_, &out_fd_}) {
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    }
  }

  int port() const { return port_; }

 private:
  fs::path cert_, key_;
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  std::string output_;
};

// Base fixture: a fresh temp folder (canonical path, since the binary resolves
// relative paths against getcwd()), and the binary's presence checked.
class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tlsgate_bin().empty()) << "TLSGATE_BIN is not set (run through ctest)";
    ASSERT_TRUE(fs::exists(tlsgate_bin())) << tlsgate_bin();
    dir_ = fs::canonical(tmp_.path());
  }

  // tlsgate in the temp folder; asserts nothing.
  Proc tg(const std::string& args) const { return tlsgate(dir_, args); }
  Proc shell(const std::string& cmd) const { return sh(dir_, cmd); }
  // tlsgate that must succeed.
  Proc tg_ok(const std::string& args) const {
    Proc r = tg(args);
    EXPECT_EQ(r.code, 0) << "tlsgate " << args << "\n" << describe(r);
    return r;
  }
  fs::path path(const std::string& rel) const { return dir_ / rel; }

  test::TempDir tmp_;
  fs::path dir_;
};

}  // namespace tlsgate::e2e
