#include "util/strings.h"

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

TEST(Strings, SplitListTrimsAndDropsEmpty) {
  EXPECT_EQ(split_list(" a ; b;;c ", ';'), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_list("  ", ';').empty());
}

TEST(Strings, EditDistance) {
  EXPECT_EQ(edit_distance("client_auth", "client_auht"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Strings, Hex) {
  EXPECT_EQ(hex(std::string("\x01\xab\xff", 3)), "01abff");
  EXPECT_EQ(hex(std::string("\x01\xab", 2), ":"), "01:ab");
}

}  // namespace
}  // namespace tlsgate::util
