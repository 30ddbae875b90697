#include "util/secret.h"

#include <sstream>

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

TEST(Secret, NeverPrintsItsValue) {
  Secret s("hunter2");
  EXPECT_EQ(fmt::format("password={}", s), "password=<redacted>");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<redacted>");
  EXPECT_EQ(s.reveal(), "hunter2");
}

}  // namespace
}  // namespace tlsgate::util
