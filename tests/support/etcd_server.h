// EtcdServer: a real etcd 3.4 (Debian etcd-server, /usr/bin/etcd) on
// 127.0.0.1 for the cluster tests, one member, in a temp folder of its own.
//
// With TLS (the default) its client URL is https with client-certificate
// auth (--client-cert-auth --trusted-ca-file --cert-file --key-file): a CA
// minted here issued etcd's server certificate (names from Options) and
// client(), and is the only CA etcd trusts for clients. Without TLS the
// client URL is plain http. The peer URL is always plaintext loopback.
//
// Its ports are chosen once (free_loopback_port: etcd must be told them;
// a first start that finds one taken meanwhile tries fresh ones, twice), so
// stop() and start() again bring the same member back on the same ports and
// data (the tests stop etcd mid-operation). start() waits, bounded,
// until etcd logs that it serves client traffic and its port accepts. Short
// heartbeat and election intervals make the single member leader at once
// and allow leases of 1 s. A ChildProcess (support/process.h); one test
// thread uses it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::test {

class EtcdServer {
 public:
  struct Options {
    bool tls = true;
    // SANs of etcd's server certificate (TLS only).
    std::vector<std::string> server_names = {"127.0.0.1", "etcd.test"};
  };

  EtcdServer();
  explicit EtcdServer(Options options);
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Starts etcd and waits until it serves clients: "" then, else why not
  // (with its log). Also after stop(): the same ports and data.
  std::string start(Millis deadline = Millis(30000));
  // SIGTERM and wait (SIGKILL after 10 s); the data stays.
  void stop();
  bool running();

  int client_port() const { return client_port_; }
  // "https://127.0.0.1:PORT" (or http://).
  std::string endpoint() const;
  // The CA of etcd's certificate and of client(); etcd trusts it for clients.
  const TestCa& ca() const { return ca_; }
  // A client certificate etcd accepts (CN etcd-client, ECDSA P-256).
  const pki::Issued& client() const { return client_; }
  // A folder for the test's own files; removed with the server.
  const std::filesystem::path& dir() const { return dir_.path(); }
  // What the last run of etcd logged so far ("" before start()).
  std::string output() const;

 private:
  std::string start_once(Millis deadline);

  Options options_;
  TempDir dir_;
  TestCa ca_;
  pki::Issued client_;
  int client_port_ = 0;
  int peer_port_ = 0;
  bool started_once_ = false;  // the ports are etcd's now
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace tlsgate::test
