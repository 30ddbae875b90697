// ACME end to end (issue 18): a real `tlsgate serve` obtains and renews its
// certificate from a real pebble (support/pebble_server.h) over tls-alpn-01
// on the connector's own port, or over http-01; real TLS clients check what
// it serves against pebble's issuing root.
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "support/echo_server.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/pebble_server.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/ssl_handles.h"
#include "util/clock.h"

namespace tlsgate::e2e::acme {
namespace {

namespace fs = std::filesystem;
using test::Millis;

constexpr const char* kName = "db.example.test";

struct ClientCert {
  fs::path cert, key;
};

struct Result {
  bool handshake = false;  // verified against the trust file, name checked
  bool echoed = false;
  std::string serial;  // of the served leaf
  std::string error;
};

// One TLS connection to 127.0.0.1:port with SNI `name`, verified against
// `trust` (name checked), with a client certificate when given, and one
// echo round trip.
Result connect_once(int port, const fs::path& trust, const std::string& name = kName,
                    const ClientCert* client = nullptr) {
  Result r;
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), trust.c_str(), nullptr) != 1) {
    r.error = "cannot load " + trust.string();
    return r;
  }
  if (client) {
    SSL_CTX_use_certificate_chain_file(ctx.get(), client->cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx.get(), client->key.c_str(), SSL_FILETYPE_PEM);
  }
  int fd = test::connect_loopback(port);
  if (fd < 0) {
    r.error = "cannot connect";
    return r;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  tls::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(name.c_str()));  // SSL_set_tlsext_host_name without its C cast
  SSL_set1_host(ssl.get(), name.c_str());
  ERR_clear_error();
  if (SSL_connect(ssl.get()) == 1) {
    r.handshake = true;
    if (const X509* leaf = SSL_get0_peer_certificate(ssl.get())) {
      r.serial = pki::describe(leaf, util::SystemClock::instance()).serial_hex;
    }
    const std::string line = "ping\n";
    std::string back(line.size(), '\0');
    // TLS 1.3 refuses a missing client certificate after the handshake: the
    // round trip is where it shows.
    if (SSL_write(ssl.get(), line.data(), static_cast<int>(line.size())) ==
            static_cast<int>(line.size()) &&
        SSL_read(ssl.get(), back.data(), static_cast<int>(back.size())) ==
            static_cast<int>(back.size())) {
      r.echoed = back == line;
    }
  }
  if (!r.echoed) {
    char buf[256];
    ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
    r.error = buf;
  }
  ::close(fd);
  return r;
}

class AcmeGateTest : public ::testing::Test {
 protected:
  void start_pebble(int tls_port, long validity_seconds = 0) {
    test::PebbleServer::Options o;
    o.tls_port = tls_port;
    o.validity_seconds = validity_seconds;
    pebble_ = std::make_unique<test::PebbleServer>(std::move(o));
    auto why = pebble_->start();
    ASSERT_EQ(why, "") << why;
  }

  // The root pebble issues under, as a trust file.
  fs::path trust() {
    auto path = tmp_ / "pebble-root.pem";
    std::ofstream(path) << pebble_->issuing_root_pem();
    return path;
  }

  test::GateConfig config(int port) {
    test::GateConfig c;
    c.set("connector.db.listen_address", "127.0.0.1:" + std::to_string(port))
        .set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
        .set("ssl.policy.db.enabled", "true")
        .set("ssl.policy.db.client_auth", "NONE")
        .set("ssl.policy.db.acme_directory", pebble_->directory_url())
        .set("ssl.policy.db.acme_ca_bundle", pebble_->ca_bundle().string())
        .set("ssl.policy.db.acme_names", kName)
        .set("ssl.policy.db.acme_email", "ops@example.test")
        .set("server.reload_settle", "0.05")
        .set("server.worker_threads", "2");
    return c;
  }

  void start_gate(const test::GateConfig& c, int port) {
    gate_ = std::make_unique<test::GateProcess>(tmp_.path(), c.text());
    auto why = gate_->wait_serving(port);
    ASSERT_EQ(why, "") << why;
  }

  size_t issued() const {
    size_t n = 0;
    const auto log = gate_->log();
    for (size_t at = log.find("certificate obtained"); at != std::string::npos;
         at = log.find("certificate obtained", at + 1)) {
      ++n;
    }
    return n;
  }

  // Polls every 100 ms until pred() holds, the deadline passes or the gate exits.
  template <typename Pred>
  bool poll(Pred pred, Millis deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (int i = 0; i < 10000 && std::chrono::steady_clock::now() < until; ++i) {
      if (pred()) return true;
      if (gate_->wait_exit(Millis(100))) return pred();  // the gate died: no use waiting
    }
    return pred();
  }

  // Waits until the gate logged `count` issuances.
  bool wait_issued(size_t count, Millis deadline) {
    return poll([&] { return issued() >= count; }, deadline);
  }

  test::TempDir tmp_;
  test::EchoServer echo_;
  std::unique_ptr<test::PebbleServer> pebble_;
  std::unique_ptr<test::GateProcess> gate_;
};

TEST_F(AcmeGateTest, FirstCertificateOverTlsAlpnOnTheConnectorsOwnPort) {
  const int port = test::free_loopback_port();
  start_pebble(port);
  start_gate(config(port), port);
  ASSERT_TRUE(wait_issued(1, Millis(30000))) << gate_->report() << pebble_->output();
  EXPECT_NE(gate_->log().find("answered the ACME tls-alpn-01 check for db.example.test"),
            std::string::npos)
      << gate_->report();
  auto r = connect_once(port, trust());
  EXPECT_TRUE(r.handshake && r.echoed) << r.error << gate_->report();
  // Written where the policy says, private key 0400.
  auto key = tmp_ / "certificates/db/private.key";
  ASSERT_TRUE(fs::exists(key));
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::all, fs::perms::owner_read);
  EXPECT_TRUE(fs::exists(tmp_ / "state/acme"));
}

TEST_F(AcmeGateTest, MutualTlsStaysIntactWhileTheChallengeIsAnswered) {
  const int port = test::free_loopback_port();
  start_pebble(port);
  auto ca = test::make_test_ca("clients CA");
  fs::create_directories(tmp_ / "certificates/db/trusted");
  test::write_cert(tmp_ / "certificates/db/trusted/clients.crt", ca.ca.cert.get());
  auto leaf = test::make_leaf(ca, {"app1"}, false, true);
  ClientCert client{tmp_ / "app1.crt", tmp_ / "app1.key"};
  test::write_cert(client.cert, leaf.cert.get());
  test::write_key(client.key, leaf.key.get());
  auto c = config(port);
  c.set("ssl.policy.db.client_auth", "REQUIRE");
  start_gate(c, port);
  ASSERT_TRUE(wait_issued(1, Millis(30000))) << gate_->report() << pebble_->output();
  const auto root = trust();
  auto anonymous = connect_once(port, root);
  EXPECT_FALSE(anonymous.echoed) << "a client without a certificate got through";
  auto with_cert = connect_once(port, root, kName, &client);
  EXPECT_TRUE(with_cert.handshake && with_cert.echoed) << with_cert.error << gate_->report();
}

TEST_F(AcmeGateTest, FirstCertificateOverHttp01) {
  const int port = test::free_loopback_port();
  start_pebble(0);
  auto c = config(port);
  c.set("ssl.policy.db.acme_challenge", "http-01")
      .set("ssl.policy.db.acme_http_address", "127.0.0.1:" + std::to_string(pebble_->http_port()));
  start_gate(c, port);
  ASSERT_TRUE(wait_issued(1, Millis(30000))) << gate_->report() << pebble_->output();
  auto r = connect_once(port, trust());
  EXPECT_TRUE(r.handshake && r.echoed) << r.error << gate_->report();
}

// Before the first certificate, clients are refused with a reason, and the
// CA's checks are still answered: here the CA cannot be reached at all.
TEST_F(AcmeGateTest, WithoutAFirstCertificateClientsAreRefusedWithTheReason) {
  const int port = test::free_loopback_port();
  start_pebble(port);
  auto c = config(port);
  c.set("ssl.policy.db.acme_directory",
        "https://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/dir");
  start_gate(c, port);
  ASSERT_TRUE(gate_->wait_for_log("next try in", Millis(15000))) << gate_->report();
  auto r = connect_once(port, pebble_->ca_bundle());
  EXPECT_FALSE(r.handshake);
  ASSERT_TRUE(gate_->wait_for_log("is still being obtained from the ACME server", Millis(5000)))
      << gate_->report();
  auto check =
      test::run_shell(test::GateProcess::binary() + " check -c " + gate_->config_file().string());
  EXPECT_NE(check.out.find("no certificate yet; tlsgate serve obtains it from the ACME server"),
            std::string::npos)
      << check.out;
}

// A short-lived certificate is renewed at half its lifetime; clients
// handshaking all along never fail, a connection opened before the renewal
// keeps working after it. Then the CA goes away and the state folder is
// lost: the current certificate keeps being served, renewal retries, and
// once the CA is back (a fresh pebble, which forgot the account) it
// recovers by itself with a new account.
TEST_F(AcmeGateTest, RenewsWithoutAFailedHandshakeAndRecoversFromALostCaAndStateFolder) {
  const int port = test::free_loopback_port();
  start_pebble(port, 40);
  start_gate(config(port), port);
  ASSERT_TRUE(wait_issued(1, Millis(30000))) << gate_->report() << pebble_->output();
  const auto root = trust();
  const auto first = connect_once(port, root);
  ASSERT_TRUE(first.echoed) << first.error;

  // A client every 50 ms (the pause ends at once when the loop is stopped).
  bool stop = false;
  std::atomic<int> attempts{0}, failures{0};
  std::mutex mu;
  std::condition_variable cv;
  std::string first_failure;
  std::thread loop([&] {
    for (int i = 0; i < 5000; ++i) {
      auto r = connect_once(port, root);
      std::unique_lock lock(mu);
      ++attempts;
      if (!r.echoed && failures++ == 0) first_failure = r.error;
      if (cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop; })) break;
    }
  });
  const bool renewed = wait_issued(2, Millis(40000));
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  loop.join();
  ASSERT_TRUE(renewed) << gate_->report();
  EXPECT_GT(attempts.load(), 20);
  EXPECT_EQ(failures.load(), 0) << first_failure << gate_->report();
  auto second = connect_once(port, root);
  EXPECT_TRUE(second.echoed) << second.error;
  EXPECT_NE(second.serial, first.serial);

  // The CA goes, and so does the account.
  pebble_->stop();
  fs::remove_all(tmp_ / "state");
  const auto log_before = gate_->log().size();
  auto retries = [&] {
    auto log = gate_->log().substr(log_before);
    size_t n = 0;
    for (size_t at = log.find("next try in"); at != std::string::npos;
         at = log.find("next try in", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(poll([&] { return retries() >= 2; }, Millis(40000))) << gate_->report();
  auto during = connect_once(port, root);
  EXPECT_TRUE(during.echoed) << "the current certificate must still be served: " << during.error;

  ASSERT_EQ(pebble_->start(), "");
  ASSERT_TRUE(wait_issued(3, Millis(40000))) << gate_->report() << pebble_->output();
  auto after = connect_once(port, trust());
  EXPECT_TRUE(after.echoed) << after.error << gate_->report();
  EXPECT_TRUE(fs::exists(tmp_ / "state/acme"));
}

}  // namespace
}  // namespace tlsgate::e2e::acme
