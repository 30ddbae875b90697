#include <gtest/gtest.h>

#include "net/starttls/postgres.h"

namespace tlsgate::net::starttls {
namespace {

using Action = PgStep::Action;
using config::TlsLevel;

std::string be32(uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  return out;
}

std::string packet(uint32_t code, const std::string& body = "") {
  return be32(static_cast<uint32_t>(8 + body.size())) + be32(code) + body;
}

std::string startup() { return packet(kProtocol3, std::string("user\0app\0database\0db\0\0", 23)); }

TEST(PostgresNegotiation, SslRequestIsAnsweredWithS) {
  PostgresNegotiation n(TlsLevel::kRequired);
  auto s = n.consume(pg_ssl_request().substr(0, 5));
  EXPECT_EQ(s.action, Action::kNeedMore);
  s = n.consume(pg_ssl_request().substr(5));
  EXPECT_EQ(s.action, Action::kStartTls);
  EXPECT_EQ(s.reply, "S");
}

TEST(PostgresNegotiation, GssEncIsRefusedThenSslRequestProceeds) {
  PostgresNegotiation n(TlsLevel::kRequired);
  auto s = n.consume(packet(kGssEncRequestCode));
  EXPECT_EQ(s.action, Action::kReply);
  EXPECT_EQ(s.reply, "N");
  s = n.consume(pg_ssl_request());
  EXPECT_EQ(s.action, Action::kStartTls);
}

TEST(PostgresNegotiation, DataAfterSslRequestIsRefused) {
  PostgresNegotiation n(TlsLevel::kRequired);
  auto s = n.consume(pg_ssl_request() + startup());
  EXPECT_EQ(s.action, Action::kError);
  EXPECT_EQ(s.reason, "client sent data after its SSLRequest, before TLS started; refusing it");
}

TEST(PostgresNegotiation, PlaintextStartupUnderRequiredGetsErrorResponse) {
  PostgresNegotiation n(TlsLevel::kRequired);
  auto s = n.consume(startup());
  ASSERT_EQ(s.action, Action::kRefuse);
  std::string msg =
      "tlsgate: this server accepts only TLS connections; connect with sslmode=require, verify-ca "
      "or "
      "verify-full";
  std::string fields = std::string("SFATAL\0VFATAL\0C28000\0M", 22) + msg + std::string("\0\0", 2);
  EXPECT_EQ(s.reply, "E" + be32(static_cast<uint32_t>(fields.size() + 4)) + fields);
}

TEST(PostgresNegotiation, PlaintextStartupUnderOptionalIsRelayed) {
  PostgresNegotiation n(TlsLevel::kOptional);
  auto s = n.consume(startup().substr(0, 10));
  EXPECT_EQ(s.action, Action::kNeedMore);
  s = n.consume(startup().substr(10));
  ASSERT_EQ(s.action, Action::kRelay);
  EXPECT_EQ(s.forward, startup());
}

// PostgreSQL logs in the LAST `user` of a list that names it twice: the
// first was the one user_map checked (review s23 defect 2).
TEST(PostgresNegotiation, AStartupMessageThatNamesAParameterTwiceIsRefused) {
  PostgresNegotiation n(TlsLevel::kOptional);
  auto s =
      n.consume(packet(kProtocol3, std::string("user\0app1\0database\0x\0user\0postgres\0\0", 36)));
  ASSERT_EQ(s.action, Action::kError);
  EXPECT_EQ(s.reason, "client's StartupMessage refused: it names parameter \"user\" twice");
  EXPECT_NE(s.reply.find(std::string("C08P01\0", 7)), std::string::npos);
  EXPECT_NE(s.reply.find("tlsgate: invalid startup packet: it names parameter \"user\" twice"),
            std::string::npos);
  EXPECT_TRUE(s.forward.empty());

  PostgresNegotiation unterminated(TlsLevel::kOptional);
  s = unterminated.consume(packet(kProtocol3, std::string("user\0app1", 9)));
  ASSERT_EQ(s.action, Action::kError);
  EXPECT_EQ(s.reason, "client's StartupMessage refused: its parameter list is not terminated");

  PostgresNegotiation sound(TlsLevel::kOptional);
  s = sound.consume(startup());
  ASSERT_EQ(s.action, Action::kRelay);
  EXPECT_EQ(s.user, "app");
}

TEST(PostgresNegotiation, SslRequestUnderDisabledIsAnsweredN) {
  PostgresNegotiation n(TlsLevel::kDisabled);
  auto s = n.consume(pg_ssl_request());
  EXPECT_EQ(s.action, Action::kReply);
  EXPECT_EQ(s.reply, "N");
}

TEST(PostgresNegotiation, CancelRequestIsForwarded) {
  PostgresNegotiation n(TlsLevel::kRequired);
  auto cancel = packet(kCancelRequestCode, be32(1234) + be32(5678));
  auto s = n.consume(cancel);
  ASSERT_EQ(s.action, Action::kCancel);
  EXPECT_EQ(s.forward, cancel);
}

TEST(PostgresNegotiation, MalformedInputIsRefusedWithoutBuffering) {
  struct Case {
    std::string bytes;
    std::string reason;
  };
  std::vector<Case> cases = {
      {be32(4) + be32(kSslRequestCode), "malformed PostgreSQL startup packet (length 4)"},
      {be32(1u << 30) + be32(kProtocol3),
       "malformed PostgreSQL startup packet (length 1073741824)"},
      {be32(12) + be32(kSslRequestCode) + "abcd",
       "malformed PostgreSQL SSLRequest/GSSENCRequest (length 12)"},
      {packet(kCancelRequestCode, "ab"), "malformed PostgreSQL CancelRequest (length 10)"},
      {packet(0x00020000), "unknown PostgreSQL request code 131072 before TLS"},
  };
  for (const auto& c : cases) {
    PostgresNegotiation n(TlsLevel::kRequired);
    auto s = n.consume(c.bytes);
    EXPECT_EQ(s.action, Action::kError) << c.reason;
    EXPECT_EQ(s.reason, c.reason);
  }
}

}  // namespace
}  // namespace tlsgate::net::starttls
