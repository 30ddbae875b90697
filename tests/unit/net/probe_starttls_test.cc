// The client side of STARTTLS that `probe` speaks (net/probe_starttls.h), with byte vectors.
#include "net/probe_starttls.h"

#include <gtest/gtest.h>

#include "net/starttls/mysql_wire.h"
#include "net/starttls/postgres.h"

namespace tlsgate::net {
namespace {

using Action = StartTlsStep::Action;

TEST(ProbeStartTls, PostgresSslRequestThenS) {
  StartTlsClient c(StartTlsProtocol::kPostgres);
  auto s = c.start();
  EXPECT_EQ(s.action, Action::kRead);
  EXPECT_EQ(s.send, starttls::pg_ssl_request());
  EXPECT_EQ(c.bytes_wanted(), 1U);
  EXPECT_EQ(c.consume("S").action, Action::kStartTls);
  EXPECT_EQ(c.facts(), (std::vector<Fact>{{"reply", "S"}}));
}

TEST(ProbeStartTls, PostgresNSaysTlsIsOff) {
  StartTlsClient c(StartTlsProtocol::kPostgres);
  c.start();
  auto s = c.consume("N");
  EXPECT_EQ(s.action, Action::kFail);
  EXPECT_NE(s.error.find("answered N"), std::string::npos) << s.error;
  EXPECT_EQ(c.facts(), (std::vector<Fact>{{"reply", "N"}}));
}

std::string greeting(uint32_t caps) {
  std::string p =
      "\x0a"
      "10.11.6-MariaDB";
  p.push_back('\0');
  p += std::string("\x07\x00\x00\x00", 4);  // connection id 7
  p += "abcdefgh";
  p.push_back('\0');
  std::string c(2, '\0');
  starttls::mysql_set_uint(c, 0, caps & 0xffff, 2);
  p += c + "\x2d" + std::string("\x02\x00", 2);
  std::string hi(2, '\0');
  starttls::mysql_set_uint(hi, 0, caps >> 16, 2);
  p += hi + "\x15" + std::string(10, '\0') + "ijklmnopqrst" + std::string(1, '\0') +
       "mysql_native_password" + std::string(1, '\0');
  return starttls::mysql_packet(0, p);
}

TEST(ProbeStartTls, MysqlGreetingThenSslRequest) {
  StartTlsClient c(StartTlsProtocol::kMysql);
  EXPECT_EQ(c.start().action, Action::kRead);
  std::string g = greeting(starttls::kClientProtocol41 | starttls::kClientSsl |
                           starttls::kClientSecureConnection | starttls::kClientPluginAuth);
  // Byte by byte, as bytes_wanted() allows.
  StartTlsStep s;
  for (size_t i = 0; i < g.size(); ++i) {
    ASSERT_GE(c.bytes_wanted(), 1U);
    s = c.consume(g.substr(i, 1));
    if (i + 1 < g.size()) {
      ASSERT_EQ(s.action, Action::kRead) << i << s.error;
    }
  }
  ASSERT_EQ(s.action, Action::kStartTls) << s.error;
  ASSERT_EQ(s.send.size(), 4U + 32);
  EXPECT_EQ(s.send[3], 1);  // sequence id after the greeting's 0
  EXPECT_NE(starttls::mysql_uint(s.send, 4, 4) & starttls::kClientSsl, 0U);
  EXPECT_EQ(c.facts()[1], (Fact{"server_version", "10.11.6-MariaDB"}));
  EXPECT_EQ(c.facts()[3], (Fact{"client_ssl_offered", "true"}));
}

TEST(ProbeStartTls, MysqlWithoutClientSslFails) {
  StartTlsClient c(StartTlsProtocol::kMysql);
  auto s = c.consume(greeting(starttls::kClientProtocol41 | starttls::kClientSecureConnection));
  EXPECT_EQ(s.action, Action::kFail);
  EXPECT_NE(s.error.find("does not offer TLS"), std::string::npos) << s.error;
  EXPECT_EQ(c.facts().back(), (Fact{"client_ssl_offered", "false"}));
}

TEST(ProbeStartTls, MysqlErrBeforeGreeting) {
  StartTlsClient c(StartTlsProtocol::kMysql);
  auto s = c.consume(starttls::mysql_err_packet(0, 1130, "HY000", "Host is not allowed"));
  EXPECT_EQ(s.action, Action::kFail);
  EXPECT_NE(s.error.find("Host is not allowed"), std::string::npos) << s.error;
}

TEST(ProbeStartTls, NatsInfoFields) {
  StartTlsClient c(StartTlsProtocol::kNats);
  EXPECT_EQ(c.start().action, Action::kRead);
  EXPECT_EQ(c.consume("INFO {\"server_id\":\"N1\",\"version\":\"2.9.11\",").action, Action::kRead);
  auto s = c.consume("\"tls_required\":true,\"tls_verify\" : false}\r\n");
  ASSERT_EQ(s.action, Action::kStartTls) << s.error;
  EXPECT_EQ(c.facts(), (std::vector<Fact>{{"server_id", "N1"},
                                          {"version", "2.9.11"},
                                          {"tls_required", "true"},
                                          {"tls_verify", "false"},
                                          {"tls_available", "false"}}));
}

TEST(ProbeStartTls, NatsWithoutTlsFails) {
  StartTlsClient c(StartTlsProtocol::kNats);
  auto s = c.consume("INFO {\"server_id\":\"N1\"}\r\n");
  EXPECT_EQ(s.action, Action::kFail);
  EXPECT_NE(s.error.find("offers no TLS"), std::string::npos);
}

TEST(ProbeStartTls, NatsEndlessBannerIsBounded) {
  StartTlsClient c(StartTlsProtocol::kNats);
  std::string chunk(4096, 'x');
  StartTlsStep s;
  int turns = 0;
  for (; turns < 100 && s.action == Action::kRead; ++turns) s = c.consume(chunk);
  EXPECT_EQ(s.action, Action::kFail);
  EXPECT_LE(turns * chunk.size(), kMaxBanner + 2 * chunk.size());
}

TEST(ProbeStartTls, NotNats) {
  StartTlsClient c(StartTlsProtocol::kNats);
  EXPECT_EQ(c.consume("+OK\r\n").action, Action::kFail);
  EXPECT_EQ(printable("a\x1b[31mb\n"), "a?[31mb?");
}

}  // namespace
}  // namespace tlsgate::net
