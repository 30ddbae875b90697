#include "util/strings.h"

#include <cerrno>

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

TEST(Strings, ErrnoText) {
  EXPECT_EQ(errno_text(EMFILE), "Too many open files");
  EXPECT_EQ(errno_text(ENOENT), "No such file or directory");
}

}  // namespace
}  // namespace tlsgate::util
