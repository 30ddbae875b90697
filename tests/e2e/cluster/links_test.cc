// Node-to-node links through a switch to a new issuer: each node's
// connector "link" dials the next node's echo connector over mutual TLS
// (upstream_ssl_policy=cluster, known_peers checked both ways). A client
// loop runs through all three links during the trust-first switch; no link
// handshake fails, and afterwards the links present the new certificate.
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "e2e/cluster/cluster_fixture.h"
#include "pki/certificate_info.h"
#include "support/loopback.h"

namespace tlsgate::e2e::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One plaintext round trip through a node's link connector (the node dials
// the next node over TLS for it).
bool through_link(int port) {
  int fd = test::connect_loopback(port);
  if (fd < 0) return false;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string line = "through-the-link\n";
  bool ok = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  std::string got;
  char buf[128];
  for (int i = 0; ok && i < 20 && got.size() < line.size(); ++i) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok && got == line;
}

// Round trips through every link, over and over, on a thread of its own.
class LinkLoop {
 public:
  explicit LinkLoop(std::vector<int> ports) : ports_(std::move(ports)) {
    thread_ = std::thread([this] {
      for (int round = 0; round < 1000000 && !stop_.load(); ++round) {
        for (int port : ports_) {
          attempts_.fetch_add(1);
          if (!through_link(port)) failures_.fetch_add(1);
        }
      }
    });
  }
  ~LinkLoop() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int attempts() const { return attempts_.load(); }
  int failures() const { return failures_.load(); }

 private:
  std::vector<int> ports_;
  std::atomic<bool> stop_{false};
  std::atomic<int> attempts_{0}, failures_{0};
  std::thread thread_;
};

// The identity of the last link peer node i saw: its echo connector maps
// the client certificate's SAN URI (identity_from=san_uri).
std::string last_link_identity(const std::string& log) {
  const std::string marker = "identity \"spiffe://e2e/cluster/";
  auto at = log.rfind(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  return log.substr(at, log.find('"', at) - at);
}

class ClusterLinks : public ClusterFixture {};

TEST_F(ClusterLinks, MutualTlsLinksWithKnownPeersNeverFailDuringANewIssuerSwitch) {
  initial_names_ = {"127.0.0.1", "localhost", "spiffe://e2e/cluster/first"};
  lay_out();
  add_links("localhost;https://node.invalid:1");
  set_all("ssl.policy.cluster.identity_from", "san_uri");
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(through_link(link_port_[i])) << "link of node " << name(i) << "\n" << logs();
    EXPECT_EQ(last_link_identity(node_[(i + 1) % kNodes]->log()), "first") << name(i);
  }
  // known_peers is live on these links: a peer the CA trusts but whose
  // certificate names no listed peer is refused.
  write_leaf(ca_, {"intruder.test"}, "intruder");
  EXPECT_FALSE(peer_accepted(0, dir_ / "intruder.crt", dir_ / "intruder.key", trust_));
  EXPECT_TRUE(node_[0]->wait_for_log("[reason: unknown_peer]", 5000ms)) << node_[0]->log();
  EXPECT_NE(node_[0]->log().find("presents DNS:intruder.test, none of which "
                                 "ssl.policy.cluster.known_peers lists"),
            std::string::npos);

  auto new_ca = test::make_test_ca("cluster e2e CA 2");
  test::write_cert(dir_ / "newca.crt", new_ca.ca.cert.get());
  {
    std::ofstream out(trust_, std::ios::app);  // test clients trust both issuers
    out << test::read_text(dir_ / "newca.crt");
  }
  const auto serial =
      write_leaf(new_ca, {"127.0.0.1", "localhost", "spiffe://e2e/cluster/next"}, "next");
  const size_t refused_before = occurrences(logs(), "[reason: ");

  LinkLoop links({link_port_[0], link_port_[1], link_port_[2]});
  HandshakeLoop clients({port_[0], port_[1], port_[2]}, trust_);
  const auto proposed = Clock::now();
  auto r =
      cli("cluster replace-cert --scope cluster --cert next.crt --key next.key --ca newca.crt");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto took = wait_serving({0, 1, 2}, serial, Millis(15000));
  ASSERT_TRUE(took.has_value()) << "not every node serves " << serial;
  const auto switched = std::chrono::duration_cast<Millis>(Clock::now() - proposed);
  // Links made after the switch present the new certificate.
  const auto until = Clock::now() + 10000ms;
  for (int i = 0; i < 10000 && Clock::now() < until; ++i) {
    bool all = true;
    for (int n = 0; n < kNodes; ++n) all = all && last_link_identity(node_[n]->log()) == "next";
    if (all) break;
    std::this_thread::sleep_for(Millis(20));  // polling the logs until the deadline
  }
  const int seen = links.attempts();
  for (int i = 0; i < 10000 && links.attempts() < seen + 9 && Clock::now() < until + 5000ms; ++i) {
    std::this_thread::sleep_for(Millis(10));  // a few more rounds on the new certificate
  }
  links.stop();
  clients.stop();
  EXPECT_EQ(links.failures(), 0) << "of " << links.attempts() << " round trips through the links";
  EXPECT_GT(links.attempts(), 9);
  EXPECT_EQ(clients.failures(), 0) << clients.first_failure();
  const size_t refused_during = occurrences(logs(), "[reason: ") - refused_before;
  EXPECT_EQ(refused_during, 0u) << "handshakes refused during the switch";
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(last_link_identity(node_[i]->log()), "next")
        << "node " << name(i) << "'s last link peer still presents the old certificate";
    EXPECT_GT(occurrences(node_[i]->log(), "identity \"spiffe://e2e/cluster/next\""), 0u)
        << name(i);
  }
  auto rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 10000ms);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
  std::printf(
      "[ measured ] new-issuer switch with mutual-TLS links: %d round trips through the links, "
      "%d failed; %d client handshakes, %d failed; %zu handshakes refused in the logs; all three "
      "served serial %s %lld ms after the proposal\n",
      links.attempts(), links.failures(), clients.attempts(), clients.failures(), refused_during,
      serial.c_str(), static_cast<long long>(switched.count()));
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
