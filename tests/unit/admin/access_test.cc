#include "admin/access.h"

#include <gtest/gtest.h>

namespace tlsgate::admin {
namespace {

TEST(AdminAccess, RolesComeFromTheTwoLists) {
  config::Admin a;
  a.allowed_identities = {"CN=ops,O=Acme", "both"};
  a.read_only_identities = {"CN=viewer", "both", ""};
  AccessList list(a);
  EXPECT_EQ(list.role_of("CN=ops,O=Acme"), Role::kReadWrite);
  EXPECT_EQ(list.role_of("CN=viewer"), Role::kReadOnly);
  EXPECT_EQ(list.role_of("both"), Role::kReadWrite);  // the wider grant wins
  EXPECT_EQ(list.role_of("CN=ops"), Role::kNone);     // exact match only
  EXPECT_EQ(list.role_of(""), Role::kNone);           // no identity is nobody
}

TEST(AdminAccess, ReadOnlyMayOnlyRead) {
  for (const char* m : {"GET", "HEAD"}) {
    EXPECT_TRUE(permits(Role::kReadOnly, m)) << m;
    EXPECT_TRUE(permits(Role::kReadWrite, m)) << m;
    EXPECT_FALSE(permits(Role::kNone, m)) << m;
  }
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "get"}) {
    EXPECT_FALSE(permits(Role::kReadOnly, m)) << m;
    EXPECT_TRUE(permits(Role::kReadWrite, m)) << m;
    EXPECT_FALSE(permits(Role::kNone, m)) << m;
  }
}

}  // namespace
}  // namespace tlsgate::admin
