// `tlsgate probe` at a port that does not speak TLS: an HTTP server, a NATS
// or MySQL/MariaDB port without --starttls, a server that answers with a
// line of text. The probe says "plaintext, not TLS" and what it looks like,
// with the reason word plaintext_peer, where it said "no TLS version in
// common" (protocol_version) before.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_helpers.h"
#include "support/loopback.h"

namespace tlsgate::e2e {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// A listener of our own that writes `answer` on every connection: on accept
// (a server that speaks first) or after the client's first bytes (one that
// answers a request). It then ends its side (FIN, no RST that could swallow
// the answer) and holds the socket until the test ends.
class PlaintextServer {
 public:
  PlaintextServer(std::string answer, bool speaks_first) : fd_(test::listen_loopback(&port_)) {
    thread_ = std::thread([this, answer = std::move(answer), speaks_first] {
      for (int i = 0; i < 8; ++i) {  // the probe connects a few times at most
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        held_.push_back(c);
        if (!speaks_first) {
          pollfd p{c, POLLIN, 0};
          if (::poll(&p, 1, 5000) != 1) continue;
          char buf[4096];
          (void)!::read(c, buf, sizeof buf);
        }
        (void)!::write(c, answer.data(), answer.size());
        ::shutdown(c, SHUT_WR);
      }
    });
  }
  ~PlaintextServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : held_) ::close(c);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  int fd_;
  std::vector<int> held_;
  std::thread thread_;
};

// The greeting of a MariaDB server (protocol 10): binary, not text.
std::string mysql_greeting() {
  std::string payload = std::string("\x0a", 1) + "5.5.5-10.11.6-MariaDB" + std::string(1, '\0');
  payload += std::string("\x07\x00\x00\x00", 4) + "abcdefgh" + std::string(1, '\0');
  payload += std::string("\xfe\xf7\x2d\x02\x00\xff\x81\x15", 8) + std::string(10, '\0');
  std::string header = {static_cast<char>(payload.size()), 0, 0, 0};
  return header + payload;
}

class ProbePlaintext : public E2eTest {
 protected:
  Proc probe(const std::string& args) const { return tg("probe " + args + " --timeout 5"); }
};

TEST_F(ProbePlaintext, HttpServerIsNamedNotAVersionProblem) {
  PlaintextServer http("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false);
  Proc r = probe(http.target());
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("failed at handshake [plaintext_peer]: " + http.target() +
                               " answered with plaintext, not TLS (looks like HTTP: "
                               "\"HTTP/1.1 400 Bad Request\"): is this a plaintext port? "
                               "Probe the service's TLS port (--starttls covers postgres, "
                               "mysql and nats only)"));
  EXPECT_THAT(r.err, Not(HasSubstr("protocol_version")));
  Proc j = probe(http.target() + " --json");
  EXPECT_EQ(j.code, 1) << describe(j);
  json doc = json::parse(j.out);
  EXPECT_EQ(doc["failure"]["step"], "handshake");
  EXPECT_EQ(doc["failure"]["reason"], "plaintext_peer");
  EXPECT_THAT(doc["failure"]["message"].get<std::string>(), HasSubstr("looks like HTTP"));
}

TEST_F(ProbePlaintext, NatsInfoLineSuggestsStarttlsNats) {
  PlaintextServer nats("INFO {\"server_id\":\"NDX\",\"version\":\"2.10.7\"}\r\n", true);
  Proc r = probe(nats.target());
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("[plaintext_peer]: " + nats.target() +
                               " answered with plaintext, not TLS (looks like NATS: \"INFO "
                               "{\\x22server_id\\x22:\\x22NDX\\x22,\\x22version\\x22:"
                               "\\x222.10.7\\x22}\"): is this a plaintext port? For NATS use "
                               "--starttls nats"));
}

TEST_F(ProbePlaintext, MysqlGreetingSuggestsStarttlsMysql) {
  PlaintextServer mysql(mysql_greeting(), true);
  Proc r = probe(mysql.target());
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("[plaintext_peer]: " + mysql.target() +
                               " answered with plaintext, not TLS (looks like MySQL/MariaDB): is "
                               "this a plaintext port? For MySQL/MariaDB use --starttls mysql"));
}

TEST_F(ProbePlaintext, ALineOfTextAnsweringTheHello) {
  PlaintextServer text("-ERR 'Unknown Protocol Operation'\r\n", false);
  Proc r = probe(text.target());
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("[plaintext_peer]: " + text.target() +
                               " answered with plaintext, not TLS (looks like NATS or Redis: "
                               "\"-ERR 'Unknown Protocol Operation'\")"));
}

TEST_F(ProbePlaintext, EnumerationIsNotAttemptedAgainstAPlaintextPort) {
  PlaintextServer http("HTTP/1.1 400 Bad Request\r\n\r\n", false);
  Proc r = probe(http.target() + " --enumerate --json");
  EXPECT_EQ(r.code, 1) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["failure"]["reason"], "plaintext_peer");
  EXPECT_TRUE(!doc.contains("enumeration") || doc["enumeration"].is_null()) << doc.dump(2);
}

}  // namespace
}  // namespace tlsgate::e2e
