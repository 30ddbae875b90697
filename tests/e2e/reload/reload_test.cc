// Certificates replaced under a running `tlsgate serve`: picked up within
// seconds, never a failed handshake, never a dropped connection, and a
// broken file never replaces a working one.
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "support/echo_server.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/ssl_handles.h"
#include "util/fd.h"

namespace tlsgate::test {
namespace {

using namespace std::chrono_literals;

// A blocking TLS client that verifies the gate against the test CA.
class Client {
 public:
  explicit Client(const std::filesystem::path& ca_file) : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  }

  struct Conn {
    util::Fd fd;
    tls::SslPtr ssl;
    std::string serial;  // of the certificate the gate presented
  };

  // Connects and completes the handshake; nullopt (with *why) on failure.
  std::optional<Conn> connect(int port, std::string* why, SSL_SESSION* resume = nullptr) {
    Conn c;
    c.fd = util::Fd(connect_loopback(port));
    if (!c.fd.valid()) {
      *why =
          std::string("connect failed: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return std::nullopt;
    }
    timeval tv{5, 0};
    ::setsockopt(c.fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c.ssl.reset(SSL_new(ctx_.get()));
    SSL_set_fd(c.ssl.get(), c.fd.get());
    SSL_set1_host(c.ssl.get(), "localhost");
    if (resume != nullptr) SSL_set_session(c.ssl.get(), resume);
    if (SSL_connect(c.ssl.get()) != 1) {
      *why = std::string("handshake failed: ") +
             X509_verify_cert_error_string(SSL_get_verify_result(c.ssl.get()));
      return std::nullopt;
    }
    c.serial = pki::describe(SSL_get0_peer_certificate(c.ssl.get()), util::SystemClock::instance())
                   .serial_hex;
    return c;
  }

  // Sends a line through the gate to the echo backend and reads it back.
  static bool round_trip(Conn& c, const std::string& line) {
    if (SSL_write(c.ssl.get(), line.data(), static_cast<int>(line.size())) !=
        static_cast<int>(line.size())) {
      return false;
    }
    std::string got(line.size(), '\0');
    size_t have = 0;
    while (have < got.size()) {
      int n = SSL_read(c.ssl.get(), got.data() + have, static_cast<int>(got.size() - have));
      if (n <= 0) return false;
      have += static_cast<size_t>(n);
    }
    return got == line;
  }

 private:
  tls::SslCtxPtr ctx_;
};

class ReloadTest : public ::testing::Test {
 protected:
  // The CA file exists before the client that loads it is made.
  ReloadTest()
      : ca_(make_test_ca("Reload CA")),
        client_((write_cert(dir_ / "ca.crt", ca_.ca.cert.get()), dir_ / "ca.crt")) {}

  void SetUp() override {
    policy_ = dir_ / "certificates" / "bolt";
    std::filesystem::create_directories(policy_ / "trusted");
    std::filesystem::create_directories(policy_ / "revoked");
    write_cert(policy_ / "trusted" / "ca.crt", ca_.ca.cert.get());
    first_serial_ = install_new_certificate(false);
    port_ = free_loopback_port();
    gate_ = std::make_unique<GateProcess>(
        dir_.path(),
        "ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=NONE\n"
        "server.reload_settle=0.1\nserver.log_level=debug\n"
        "connector.bolt.listen_address=127.0.0.1:" +
            std::to_string(port_) +
            "\n"
            "connector.bolt.upstream_address=127.0.0.1:" +
            std::to_string(echo_.port()) + "\n");
    ASSERT_EQ(gate_->wait_listening(port_), "");
  }

  // Issues a new certificate and key into the policy folder: in place, or
  // written aside and renamed into place. Returns the new serial.
  std::string install_new_certificate(bool by_rename) {
    auto leaf = make_leaf(ca_, {"localhost", "127.0.0.1"});
    if (by_rename) {
      write_key(policy_ / ".private.key.new", leaf.key.get());
      write_cert(policy_ / ".public.crt.new", leaf.cert.get());
      std::filesystem::rename(policy_ / ".private.key.new", policy_ / "private.key");
      std::filesystem::rename(policy_ / ".public.crt.new", policy_ / "public.crt");
    } else {
      write_key(policy_ / "private.key", leaf.key.get());
      write_cert(policy_ / "public.crt", leaf.cert.get());
    }
    return pki::describe(leaf.cert.get(), util::SystemClock::instance()).serial_hex;
  }

  // Polls new handshakes until one presents `serial`; false after `limit`.
  bool served_within(const std::string& serial, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string why;
      auto c = client_.connect(port_, &why);
      if (c && c->serial == serial) return true;
      last_why_ = c ? "served serial " + c->serial : why;
      if (!gate_->running()) {
        last_why_ += "; the gate exited with status " +
                     std::to_string(gate_->wait_exit(std::chrono::milliseconds(0)).value_or(-1));
        return false;
      }
    }
    return false;
  }
  std::string last_why_;

  TempDir dir_;
  TestCa ca_;
  Client client_;
  EchoServer echo_;
  std::filesystem::path policy_;
  std::string first_serial_;
  int port_ = 0;
  std::unique_ptr<GateProcess> gate_;
};

TEST_F(ReloadTest, OverwriteInPlaceIsServedWhileOldConnectionsLive) {
  std::string why;
  auto old_conn = client_.connect(port_, &why);
  ASSERT_TRUE(old_conn) << why;
  EXPECT_EQ(old_conn->serial, first_serial_);
  auto next = install_new_certificate(false);
  EXPECT_TRUE(served_within(next, 2s)) << last_why_ << "\n" << gate_->log();
  EXPECT_TRUE(Client::round_trip(*old_conn, "still here after the reload\n"));
  EXPECT_TRUE(
      gate_->wait_for_log("reloaded after a file change: certificate serial " + first_serial_))
      << gate_->log();
}

TEST_F(ReloadTest, RenameIntoPlaceIsServed) {
  auto next = install_new_certificate(true);
  EXPECT_TRUE(served_within(next, 2s)) << last_why_ << "\n" << gate_->log();
}

TEST_F(ReloadTest, BrokenKeyKeepsTheOldCertificateUntilFixed) {
  write_text(policy_ / "private.key",
             "-----BEGIN "
             "PRIVATE KEY-----\nhalf-writ",
             0600);
  EXPECT_TRUE(gate_->wait_for_log("reload after a file change failed, still serving serial " +
                                  first_serial_))
      << gate_->log();
  EXPECT_TRUE(gate_->wait_for_log((policy_ / "private.key").string())) << gate_->log();
  std::string why;
  auto c = client_.connect(port_, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->serial, first_serial_);
  auto fixed = install_new_certificate(false);
  EXPECT_TRUE(served_within(fixed, 2s)) << gate_->log();
}

TEST_F(ReloadTest, FiftyRotationsUnderLoadFailNoHandshakeAndDropNoConnection) {
  std::string why;
  auto established = client_.connect(port_, &why);
  ASSERT_TRUE(established) << why;
  std::atomic<bool> done{false};
  std::atomic<int> handshakes{0};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::thread load([&] {
    Client c(dir_ / "ca.crt");
    for (int i = 0; i < 100000 && !done.load(); ++i) {
      std::string w;
      auto conn = c.connect(port_, &w);
      if (conn && Client::round_trip(*conn, "ping\n")) {
        ++handshakes;
      } else if (failures++ == 0) {
        first_failure = w;
      }
    }
  });
  std::string last;
  for (int i = 0; i < 50; ++i) {
    last = install_new_certificate(i % 2 == 1);
    ASSERT_TRUE(served_within(last, 3s)) << "rotation " << i << "\n" << gate_->log();
    ASSERT_TRUE(Client::round_trip(*established, "rotation " + std::to_string(i) + "\n"));
  }
  done = true;
  load.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(handshakes.load(), 50);
}

TEST_F(ReloadTest, ClientsResumeAcrossAReload) {
  std::string why;
  auto first = client_.connect(port_, &why);
  ASSERT_TRUE(first) << why;
  ASSERT_TRUE(
      Client::round_trip(*first, "ticket please\n"));  // TLS 1.3 tickets arrive after the handshake
  tls::SslSessionPtr session(SSL_get1_session(first->ssl.get()));
  ASSERT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
  auto next = install_new_certificate(false);
  ASSERT_TRUE(served_within(next, 2s)) << gate_->log();
  auto resumed = client_.connect(port_, &why, session.get());
  ASSERT_TRUE(resumed) << why;
  EXPECT_EQ(SSL_session_reused(resumed->ssl.get()), 1)
      << "the gate's ticket keys did not survive the reload";
  EXPECT_TRUE(Client::round_trip(*resumed, "resumed\n"));
}

TEST_F(ReloadTest, SighupAppliesAllowedIdentitiesToNewConnectionsOnly) {
  // Turn on mutual TLS with an allow-list by rewriting the config, then SIGHUP.
  // Without revalidate_established the established connection keeps the
  // checks of its handshake (with it, it is closed: e2e/gate/gate_revalidate_test.cc).
  auto conf = gate_->config_file();
  std::string text =
      "ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=REQUIRE\n"
      "ssl.policy.bolt.revalidate_established=false\n"
      "ssl.policy.bolt.identity_from=cn\nssl.policy.bolt.allowed_identities=app2\n"
      "server.reload_settle=0.1\nserver.log_level=debug\n"
      "connector.bolt.listen_address=127.0.0.1:" +
      std::to_string(port_) +
      "\n"
      "connector.bolt.upstream_address=127.0.0.1:" +
      std::to_string(echo_.port()) + "\n";
  std::string why;
  auto before = client_.connect(port_, &why);
  ASSERT_TRUE(before) << why;
  write_text(conf, text);
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a configuration reload")) << gate_->log();
  EXPECT_TRUE(Client::round_trip(*before, "old connection unaffected\n"));
  // A new connection without a client certificate is now refused.
  auto after = client_.connect(port_, &why);
  bool refused = !after || !Client::round_trip(*after, "x\n");
  EXPECT_TRUE(refused);
  EXPECT_TRUE(gate_->wait_for_log("sent no certificate")) << gate_->log();
}

// OpenSSL does not ask a resumed session for a certificate: a ticket a
// client got without one under NONE must not get it in once a SIGHUP made
// client_auth REQUIRE (review s23, security finding 2).
TEST_F(ReloadTest, AnAnonymousTicketDoesNotResumeOnceClientAuthIsRequire) {
  ::signal(SIGPIPE, SIG_IGN);  // the refused client's write is a failed write, not our death
  std::string why;
  auto first = client_.connect(port_, &why);
  ASSERT_TRUE(first) << why;
  ASSERT_TRUE(Client::round_trip(*first, "ticket please\n"));
  tls::SslSessionPtr session(SSL_get1_session(first->ssl.get()));
  ASSERT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
  write_text(gate_->config_file(),
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=REQUIRE\n"
             "server.reload_settle=0.1\nserver.log_level=debug\n"
             "connector.bolt.listen_address=127.0.0.1:" +
                 std::to_string(port_) + "\nconnector.bolt.upstream_address=127.0.0.1:" +
                 std::to_string(echo_.port()) + "\n");
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a configuration reload")) << gate_->log();
  auto resumed = client_.connect(port_, &why, session.get());
  EXPECT_TRUE(!resumed || !Client::round_trip(*resumed, "anonymous, resumed\n"));
  EXPECT_TRUE(gate_->wait_for_log(
      "client sent no certificate, but ssl.policy.bolt.client_auth is REQUIRE [reason: "
      "no_certificate]"))
      << gate_->log();
}

TEST_F(ReloadTest, SighupWithACipherOpenSslRejectsKeepsTheOldConfigAndNamesTheLine) {
  // As `serve` refuses it at start: the whole reload fails at FILE:LINE,
  // not only that policy's context with OpenSSL's words.
  auto conf = gate_->config_file();
  write_text(conf,
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=NONE\n"
             "ssl.policy.bolt.ciphers=NOT-A-CIPHER\n"
             "server.reload_settle=0.1\nserver.log_level=debug\n"
             "connector.bolt.listen_address=127.0.0.1:" +
                 std::to_string(port_) + "\nconnector.bolt.upstream_address=127.0.0.1:" +
                 std::to_string(echo_.port()) + "\n");
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("the old configuration stays in force")) << gate_->log();
  EXPECT_NE(gate_->log().find("reload: " + conf.string() +
                              ":3: ssl.policy.bolt.ciphers: OpenSSL rejects \"NOT-A-CIPHER\""),
            std::string::npos)
      << gate_->log();
  std::string why;
  auto c = client_.connect(port_, &why);
  ASSERT_TRUE(c) << why;
  EXPECT_TRUE(Client::round_trip(*c, "still served\n"));
  EXPECT_EQ(c->serial, first_serial_);
}

}  // namespace
}  // namespace tlsgate::test
