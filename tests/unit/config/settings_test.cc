#include "config/settings.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

TEST(ConfigSettings, EnumSpellingsMatchTheFileFormat) {
  EXPECT_EQ(to_string(ClientAuth::kRequire), "REQUIRE");
  EXPECT_EQ(to_string(TlsLevel::kDisabled), "DISABLED");
  EXPECT_EQ(to_string(Protocol::kPostgres), "postgres");
  EXPECT_EQ(to_string(IdentityFrom::kSanEmail), "san_email");
  EXPECT_EQ(to_string(RevocationChecks::kIfPresent), "IF_PRESENT");
  EXPECT_EQ(to_string(ProxyProtocol::kV2), "v2");
  EXPECT_EQ(to_string(LogLevel::kWarn), "warn");
  EXPECT_EQ(to_string(LogFormat::kJson), "json");
}

TEST(ConfigSettings, HostPortBracketsIpv6) {
  EXPECT_EQ(to_string(HostPort{"db.local", 5432}), "db.local:5432");
  EXPECT_EQ(to_string(HostPort{"::1", 7687}), "[::1]:7687");
  EXPECT_EQ(to_string(HostPort{"", 7687}), ":7687");
}

TEST(ConfigSettings, WhereFallsBackToTheFile) {
  Config c;
  c.file = "/etc/tlsgate/tlsgate.conf";
  c.source = "tlsgate.conf";
  c.origins["ssl.policy.bolt.enabled"] = {"tlsgate.conf", 4};
  EXPECT_EQ(c.where("ssl.policy.bolt.enabled").line, 4);
  EXPECT_EQ(c.where("ssl.policy.bolt.ciphers").file, "tlsgate.conf");
  EXPECT_EQ(c.where("ssl.policy.bolt.ciphers").line, 0);
  c.source.clear();
  EXPECT_EQ(c.where("ssl.policy.bolt.ciphers").file, "/etc/tlsgate/tlsgate.conf");
}

}  // namespace
}  // namespace tlsgate::config
