#include "config/user_map.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

UserMap parsed(std::string_view text) {
  auto map = UserMap::parse(text, "users.map");
  EXPECT_TRUE(map) << map.error().message();
  return map ? *map : UserMap();
}

TEST(UserMap, LastWordIsTheUserAndTheRestTheIdentity) {
  auto map = parsed(
      "# identity        dbuser\n"
      "app1 app1\n"
      "app1\tanalytics   # tabs and comments\n"
      "CN=App One,O=Acme   reporting\r\n"
      "\n"
      "   \n"
      "ops *\n");
  EXPECT_EQ(map.size(), 3u);
  EXPECT_TRUE(map.allows("app1", "app1"));
  EXPECT_TRUE(map.allows("app1", "analytics"));
  EXPECT_FALSE(map.allows("app1", "postgres"));
  EXPECT_TRUE(map.allows("CN=App One,O=Acme", "reporting"));
  EXPECT_TRUE(map.allows("ops", "postgres"));
  EXPECT_TRUE(map.allows("ops", "anyone"));
  EXPECT_FALSE(map.allows("APP1", "app1")) << "identities compare exactly";
  EXPECT_FALSE(map.allows("app", "app1"));
}

TEST(UserMap, NoIdentityNeverMaps) {
  auto map = parsed("ops *\n");
  EXPECT_FALSE(map.allows("", "ops"));
  EXPECT_EQ(map.refusal("", "ops"),
            "tlsgate: a client without a certificate identity may not log in as ops");
}

TEST(UserMap, RefusalNamesIdentityAndUser) {
  auto map = parsed("CN=app1 app1\n");
  EXPECT_EQ(map.refusal("CN=app1", "app1"), "");
  EXPECT_EQ(map.refusal("CN=app1", "postgres"),
            "tlsgate: certificate identity CN=app1 may not log in as postgres");
}

TEST(UserMap, LineWithoutUserNamesFileAndLine) {
  auto map = UserMap::parse("app1 app1\n\nlonely\n", "/etc/tlsgate/users.map");
  ASSERT_FALSE(map);
  EXPECT_EQ(map.error().message(),
            "/etc/tlsgate/users.map:3: \"lonely\" has no database user; write IDENTITY DBUSER "
            "(DBUSER * for any user)");
}

TEST(UserMap, MissingFileIsNamed) {
  auto map = UserMap::load("/nonexistent/users.map");
  ASSERT_FALSE(map);
  EXPECT_NE(map.error().message().find("/nonexistent/users.map"), std::string::npos);
}

TEST(UserMap, EmptyFileRefusesEveryone) {
  auto map = parsed("# nobody yet\n");
  EXPECT_EQ(map.size(), 0u);
  EXPECT_FALSE(map.allows("app1", "app1"));
}

}  // namespace
}  // namespace tlsgate::config
