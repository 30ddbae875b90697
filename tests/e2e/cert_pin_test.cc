// `tlsgate cert pin FILE|HOST:PORT` against openssl's SPKI digest, and a live `openssl s_server`.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"
#include "support/loopback.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertPin : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Pin CA'");
    tg_ok("cert issue --ca ca --out server localhost 127.0.0.1");
  }

  static std::string expected(const std::pair<std::string, std::string>& pin) {
    return "sha256:" + pin.first + "\nsha256//" + pin.second + "\n";
  }
};

TEST_F(CertPin, FilePinEqualsOpensslSpkiDigest) {
  auto pin = openssl_pin(dir_, "server/public.crt");
  ASSERT_EQ(pin.first.size(), 64U) << pin.first;
  ASSERT_EQ(pin.second.size(), 44U) << pin.second;
  Proc r = tg_ok("cert pin server/public.crt");
  EXPECT_EQ(r.out, expected(pin));
  EXPECT_EQ(r.err, "");
}

TEST_F(CertPin, RsaAndCaPinsEqualOpensslSpkiDigest) {
  tg_ok("cert issue --ca ca --out rsa --rsa 2048 rsa.example.com");
  EXPECT_EQ(tg_ok("cert pin rsa/public.crt").out, expected(openssl_pin(dir_, "rsa/public.crt")));
  EXPECT_EQ(tg_ok("cert pin ca/ca.crt").out, expected(openssl_pin(dir_, "ca/ca.crt")));
}

TEST_F(CertPin, DerFilePinEqualsPemFilePin) {
  ASSERT_EQ(shell("openssl x509 -in server/public.crt -outform DER -out server.der").code, 0);
  EXPECT_EQ(tg_ok("cert pin server.der").out, tg_ok("cert pin server/public.crt").out);
}

TEST_F(CertPin, RenewalWithReuseKeyKeepsThePin) {
  std::string before = tg_ok("cert pin server/public.crt").out;
  std::string serial_before = openssl_serial(dir_, "server/public.crt");
  tg_ok("cert issue --ca ca --out server --reuse-key localhost 127.0.0.1");
  EXPECT_NE(openssl_serial(dir_, "server/public.crt"), serial_before);
  EXPECT_EQ(tg_ok("cert pin server/public.crt").out, before);
  tg_ok("cert issue --ca ca --out server --force localhost 127.0.0.1");  // a new key
  EXPECT_NE(tg_ok("cert pin server/public.crt").out, before);
}

TEST_F(CertPin, LiveServerPinEqualsFilePin) {
  OpensslServer server(path("server/public.crt"), path("server/private.key"));
  std::string why = server.start();
  ASSERT_EQ(why, "");
  Proc r = tg_ok("cert pin 127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r.out, expected(openssl_pin(dir_, "server/public.crt")));
  EXPECT_EQ(r.out, tg_ok("cert pin server/public.crt").out);
  server.stop();
}

TEST_F(CertPin, UnreachablePeerFailsWithExitOne) {
  int port = free_loopback_port();  // nothing listens there
  Proc r = tg("cert pin 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("tlsgate: error: 127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(r.out, "");
}

// A port that greets in plaintext (MySQL, NATS) or starts TLS inside its
// protocol: not OpenSSL's bare "wrong version number" but what it likely is
// and the command that gets its pin (review s23 defect 10). The peer is a
// socket that sends a MySQL server greeting, as mariadbd does first.
TEST_F(CertPin, APlaintextPortIsSaidToBeOneWithTheProbeCommandToUse) {
  int port = 0;
  int listener = test::listen_loopback(&port, 1);
  ASSERT_GE(listener, 0);
  std::thread greeter([listener] {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    const std::string greeting(
        "\x4a\x00\x00\x00\x0a"
        "10.11.6-MariaDB\x00\x01\x00\x00\x00",
        25);
    (void)::write(fd, greeting.data(), greeting.size());
    char buf[512];
    pollfd r{fd, POLLIN, 0};
    if (::poll(&r, 1, 10000) == 1) (void)::read(fd, buf, sizeof buf);  // the ClientHello
    ::close(fd);
  });
  Proc r = tg("cert pin 127.0.0.1:" + std::to_string(port));
  greeter.join();
  ::close(listener);
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:" + std::to_string(port) +
                               ": did not answer in TLS (wrong version number); is it a plaintext "
                               "port, or one that starts TLS inside its own protocol? `tlsgate "
                               "probe 127.0.0.1:" +
                               std::to_string(port) +
                               " --starttls postgres|mysql|nats` shows its certificate and pin"));
}

TEST_F(CertPin, NeitherFileNorEndpointIsBadUsage) {
  Proc r = tg("cert pin no-such-file");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.err, "tlsgate: error: no-such-file: no such file, and not HOST:PORT either\n");
}

TEST_F(CertPin, FileThatIsNotACertificateFails) {
  Proc r = tg("cert pin server/private.key");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("server/private.key"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace tlsgate::e2e
