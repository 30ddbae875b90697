// ClusterFixture: a real etcd (support/etcd_server.h, client-certificate
// TLS) and three `tlsgate serve` nodes a, b, c, each in its own folder with
// its own config, sharing one cluster secret and one cluster certificate
// (policy "cluster", issued by ca_ for 127.0.0.1 and localhost) on a
// connector that fronts one echo backend. Policy "etcd" is each node's
// client side of the etcd link. The tests drive `tlsgate cluster ...` and
// check every node by real TLS handshakes (its served serial).
//
// One test thread drives it; HandshakeLoop runs its own thread and only
// reads ports and the trust file given at construction.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/issuer.h"
#include "support/echo_server.h"
#include "support/etcd_server.h"
#include "support/gate_process.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::cluster {

namespace fs = std::filesystem;
using test::Millis;

// How many times `needle` occurs in `text` (overlapping ones too).
inline size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// One TLS client handshake to 127.0.0.1:port, verifying against the CA
// file `trust`, optionally with an echo round trip.
struct Handshake {
  bool ok = false;      // handshake verified
  bool echoed = false;  // the round trip came back intact
  std::string serial;   // of the served leaf, hex as pki::serial_to_hex
};
Handshake handshake(int port, const fs::path& trust, bool round_trip = false);

// Handshakes against every port, one after the other, over and over, on a
// thread of its own until stop() (or destruction); counts failures.
class HandshakeLoop {
 public:
  HandshakeLoop(std::vector<int> ports, fs::path trust);
  ~HandshakeLoop();
  void stop();
  int attempts() const { return attempts_.load(); }
  int failures() const { return failures_.load(); }
  std::string first_failure() const;

 private:
  std::vector<int> ports_;
  fs::path trust_;
  std::atomic<bool> stop_{false};
  std::atomic<int> attempts_{0}, failures_{0};
  mutable std::mutex mu_;
  std::string first_failure_;
  std::thread thread_;
};

// A client connection through a node's echo connector, held open.
class HeldConnection {
 public:
  HeldConnection(int port, const fs::path& trust);
  ~HeldConnection();
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;
  bool established() const { return established_; }
  // One more round trip on the same TLS session.
  bool echo(const std::string& line);

 private:
  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX, SSL: kept out of this header's includes
  void* ssl_ = nullptr;
  bool established_ = false;
};

class ClusterFixture : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;
  static const char* name(int i) { return i == 0 ? "a" : i == 1 ? "b" : "c"; }

  void SetUp() override;
  void TearDown() override;

  // Lays out the three nodes with `initial` as the cluster certificate
  // (default: a leaf of ca_ for 127.0.0.1 and localhost, valid now).
  void lay_out(std::optional<test::Validity> initial_validity = {});
  // Sets `key=value` in every node's config (after lay_out, before start).
  void set_all(const std::string& key, const std::string& value);
  // Node-to-node links: each node gets connector "link" (plaintext on
  // link_port_[i]) that dials the next node's echo connector over mutual
  // TLS with upstream_ssl_policy=cluster; policy cluster then verifies
  // client certificates (OPTIONAL: the test clients send none) and both
  // directions check known_peers.
  void add_links(const std::string& known_peers);
  // Starts node i and waits until it serves (fatal on failure).
  void start_node(int i);
  void stop_node(int i);
  void start_all();

  // A leaf of `ca` for names, written to dir_/<file>.crt and .key; returns its serial.
  std::string write_leaf(const test::TestCa& ca, const std::vector<std::string>& names,
                         const std::string& file, std::optional<test::Validity> validity = {});

  // `tlsgate ARGS -c <node i's config>`, bounded.
  test::CommandResult cli(const std::string& args, int node = 0);
  // `tlsgate cluster status --json`, parsed (null on failure).
  nlohmann::json status(int node = 0);
  // The single replacement in the status (null when none).
  nlohmann::json replacement(int node = 0);
  // Polls status until pred holds or the deadline passes; the last replacement seen.
  template <typename Pred>
  nlohmann::json wait_replacement(Pred pred, Millis deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    nlohmann::json r;
    for (int i = 0; i < 1000; ++i) {
      r = replacement();
      if (!r.is_null() && pred(r)) return r;
      if (std::chrono::steady_clock::now() > until) break;
      std::this_thread::yield();
    }
    return r;
  }
  // Waits until every node in `nodes` serves `serial`; the elapsed time, or nullopt.
  std::optional<Millis> wait_serving(const std::vector<int>& nodes, const std::string& serial,
                                     Millis deadline);
  std::string served(int i) { return handshake(port_[i], trust_).serial; }
  // A peer presenting cert/key (files) to node i's echo connector: true when
  // the node let it through (an echo round trip came back).
  bool peer_accepted(int i, const fs::path& cert, const fs::path& key, const fs::path& trust);
  // Keys under the cluster's etcd prefix (etcdctl), optionally below `sub`; -1 on failure.
  int etcd_keys(const std::string& sub = "");
  std::string logs();

  // The names of the initial cluster certificate (lay_out).
  std::vector<std::string> initial_names_ = {"127.0.0.1", "localhost"};

  test::TempDir tmp_;
  fs::path dir_;
  test::EtcdServer etcd_;
  test::EchoServer echo_;
  test::TestCa ca_;
  fs::path trust_;  // the CAs test clients trust (ca_, plus more when a test adds one)
  std::string initial_serial_;
  fs::path node_dir_[kNodes];
  int port_[kNodes] = {};
  int link_port_[kNodes] = {};  // add_links()
  std::string config_[kNodes];
  std::unique_ptr<test::GateProcess> node_[kNodes];
};

}  // namespace tlsgate::e2e::cluster
