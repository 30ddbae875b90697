// OpensslServer: `openssl s_server` on 127.0.0.1, a TLS peer for tests that
// need a real one (the live-peer verbs, the gate's TLS backends).
//
// It listens on a port the kernel chose: `-accept 127.0.0.1:0`, and the port
// is read back from the "ACCEPT 127.0.0.1:PORT" line OpenSSL 3 prints (so
// no -quiet, which hides that line). Its stdin is a pipe held open (s_server
// stops at EOF on stdin) and its output goes to a temp file. A ChildProcess
// (support/process.h): stopped (SIGTERM, reaped) by stop() or the
// destructor. One test thread uses it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace tlsgate::test {

class OpensslServer {
 public:
  // `openssl s_server -accept 127.0.0.1:0 -cert C -key K EXTRA...`, e.g.
  // EXTRA {"-rev"} or {"-Verify", "1", "-CAfile", F}.
  OpensslServer(std::filesystem::path cert, std::filesystem::path key,
                std::vector<std::string> extra = {});
  ~OpensslServer();
  OpensslServer(const OpensslServer&) = delete;
  OpensslServer& operator=(const OpensslServer&) = delete;

  // Starts it and waits until it accepts connections: "" then, else why not
  // (with its output).
  std::string start(Millis deadline = Millis(15000));
  void stop();

  int port() const { return port_; }
  // What s_server printed so far, also after stop() ("" before start()).
  std::string output() const;
  bool wait_for_output(const std::string& needle, Millis deadline);

 private:
  std::vector<std::string> argv_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

}  // namespace tlsgate::test
