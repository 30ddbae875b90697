// HttpResponder against curl and raw sockets on loopback.
#include "acme/http_responder.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/loopback.h"
#include "support/process.h"

namespace tlsgate::acme {
namespace {

std::string curl(uint16_t port, const std::string& path) {
  auto r = test::run_shell(
      "curl -sS --max-time 10 -w ' %{http_code} %{content_type}' "
      "http://127.0.0.1:" +
      std::to_string(port) + path);
  return r.out + r.err;
}

TEST(HttpResponderTest, ServesPublishedTokensOnlyUntilWithdrawn) {
  auto responder = HttpResponder::start("127.0.0.1:0").value();
  ASSERT_NE(responder->port(), 0);
  std::string path = "/.well-known/acme-challenge/tok_1";
  EXPECT_EQ(curl(responder->port(), path), "no such challenge\n 404 text/plain");
  ASSERT_TRUE(responder->publish(ChallengeKind::kHttp01, "acme.test", "tok_1", "tok_1.thumb"));
  EXPECT_EQ(curl(responder->port(), path), "tok_1.thumb 200 text/plain");
  EXPECT_EQ(curl(responder->port(), "/.well-known/acme-challenge/tok_2"),
            "no such challenge\n 404 text/plain");
  EXPECT_EQ(curl(responder->port(), "/tok_1"), "no such challenge\n 404 text/plain");
  EXPECT_EQ(responder->answered(), 1u);
  responder->withdraw(ChallengeKind::kHttp01, "acme.test", "tok_1");
  EXPECT_EQ(curl(responder->port(), path), "no such challenge\n 404 text/plain");
  EXPECT_FALSE(responder->publish(ChallengeKind::kTlsAlpn01, "acme.test", "t", "k"));
}

TEST(HttpResponderTest, AnOversizedRequestIsClosedAndTheNextClientServed) {
  auto responder = HttpResponder::start("127.0.0.1:0").value();
  ASSERT_TRUE(responder->publish(ChallengeKind::kHttp01, "acme.test", "t", "t.k"));
  int fd = test::connect_loopback(responder->port());
  ASSERT_GE(fd, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string flood = "GET /" + std::string(8192, 'a');
  ::send(fd, flood.data(), flood.size(), MSG_NOSIGNAL);
  char buf[256];
  ssize_t got = 0;
  for (int i = 0; i < 100; ++i) {  // until the server closes (bounded by SO_RCVTIMEO per read)
    got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) break;
  }
  EXPECT_LE(got, 0);
  EXPECT_TRUE(got == 0 || errno == ECONNRESET) << "the server kept the connection";
  ::close(fd);
  EXPECT_EQ(curl(responder->port(), "/.well-known/acme-challenge/t"), "t.k 200 text/plain");
}

TEST(HttpResponderTest, ATakenAddressIsNamed) {
  int port = 0;
  int fd = test::listen_loopback(&port);
  ASSERT_GE(fd, 0);
  auto second = HttpResponder::start("127.0.0.1:" + std::to_string(port));
  ::close(fd);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message().substr(0, 60),
            ("acme_http_address \"127.0.0.1:" + std::to_string(port) +
             "\": cannot listen: Address already in use")
                .substr(0, 60));
}

}  // namespace
}  // namespace tlsgate::acme
