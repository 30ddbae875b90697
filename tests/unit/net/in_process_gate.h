// A net::Gate in the test's own process: a temp folder with a test CA, the
// gate's certificate and key (policy "gate"), and a config file written from
// key=value pairs, loaded as `tlsgate serve` loads it. With it, the waits
// and loopback clients the in-process gate tests share.
//
// Header-only: tlsgate_test() compiles only *_test.cc files.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "net/gate.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/fd.h"

namespace tlsgate::net::test_gate {

// Waits up to `limit` for `ready`, checking every few milliseconds.
template <typename Ready>
bool wait_until(Ready ready, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    ::poll(nullptr, 0, 5);
  }
  return true;
}

// A TCP connection to 127.0.0.1:port (blocking); invalid if refused.
inline util::Fd connect_loopback(int port) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

// Connects to 127.0.0.1:port, sends `first`, and waits up to 5 s for the
// gate to close the connection; true when it did (EOF or reset).
inline bool closed_after_sending(int port, std::string_view first) {
  auto fd = connect_loopback(port);
  if (!fd.valid()) return false;
  if (!first.empty() && ::send(fd.get(), first.data(), first.size(), MSG_NOSIGNAL) < 0) return true;
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return false;
  char byte = 0;
  return ::recv(fd.get(), &byte, 1, 0) <= 0;
}

class InProcessGate {
 public:
  InProcessGate() : dir_(std::filesystem::canonical(tmp_.path())) {
    ca_ = test::make_test_ca("in-process gate test CA");
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
    std::filesystem::create_directories(dir_ / "certs/gate/trusted");
    test::write_cert(dir_ / "certs/gate/public.crt", leaf.cert.get());
    test::write_key(dir_ / "certs/gate/private.key", leaf.key.get());
    test::write_cert(dir_ / "ca.crt", ca_.ca.cert.get());
    test::write_cert(dir_ / "certs/gate/trusted/ca.crt", ca_.ca.cert.get());
    port_ = test::free_loopback_port();
    conf_ = {{"server.worker_threads", "1"},
             {"ssl.policy.gate.enabled", "true"},
             {"ssl.policy.gate.base_directory", "certs/gate"},
             {"ssl.policy.gate.client_auth", "NONE"},
             {"connector.db.listen_address", "127.0.0.1:" + std::to_string(port_)},
             {"connector.db.ssl_policy", "gate"},
             {"server.shutdown_timeout", "0.1"}};
  }

  ~InProcessGate() { stop(); }
  InProcessGate(const InProcessGate&) = delete;
  InProcessGate& operator=(const InProcessGate&) = delete;

  void set(const std::string& key, const std::string& value) { conf_[key] = value; }

  // Writes the config, loads it and creates the gate (signals not handled).
  ::testing::AssertionResult create() {
    std::string text;
    for (const auto& [k, v] : conf_) text += k + "=" + v + "\n";
    test::write_text(dir_ / "tlsgate.conf", text);
    auto loaded = config::load_config(dir_ / "tlsgate.conf", {});
    if (!loaded.ok()) {
      std::string why;
      for (const auto& d : loaded.diagnostics) why += config::format(d) + "\n";
      return ::testing::AssertionFailure() << "config: " << why;
    }
    auto gate = Gate::create(*loaded.config, {.expand_commands = false, .handle_signals = false});
    if (!gate) return ::testing::AssertionFailure() << gate.error().message();
    gate_ = std::move(*gate);
    return ::testing::AssertionSuccess();
  }

  // Gate::run() on a thread of its own; returns once the port accepts and
  // the gate has taken that probe connection off its queue.
  ::testing::AssertionResult start() {
    runner_ = std::thread([this] { gate_->run(); });
    bool listening = false;
    for (int attempt = 0; attempt < 500 && !listening; ++attempt) {  // up to about 5 s
      listening = test::loopback_port_accepts(port_);
      if (!listening) ::poll(nullptr, 0, 10);
    }
    if (!listening) return ::testing::AssertionFailure() << "no listener on port " << port_;
    const auto& stats = gate_->connectors().front()->stats;
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (stats.accepted > 0) return ::testing::AssertionSuccess();
      ::poll(nullptr, 0, 10);
    }
    return ::testing::AssertionFailure() << "the gate never accepted the probe connection";
  }

  // Gate::stop() and the end of run(). Idempotent.
  void stop() {
    if (!runner_.joinable()) return;
    gate_->stop();
    runner_.join();
  }

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }
  int port() const { return port_; }
  std::unique_ptr<Gate>& gate() { return gate_; }

 private:
  test::TempDir tmp_;
  std::filesystem::path dir_;
  test::TestCa ca_;
  int port_ = 0;
  std::map<std::string, std::string> conf_;
  std::unique_ptr<Gate> gate_;
  std::thread runner_;
};

}  // namespace tlsgate::net::test_gate
