// util::Secret and util::wipe(): the bytes of a password are gone from every
// buffer a Secret owned or owns — also past the string's current length, where
// a moved-from short string (SSO) and a string that was longer once keep them.
//
// The checks read only memory that is still owned: the moved-from object's
// own (in-object) buffer, or a heap buffer the string kept.
#include "util/secret.h"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

// Whether the `n` bytes at `p` are all zero; else the bytes, for the message.
::testing::AssertionResult all_zero(const char* p, size_t n) {
  if (std::all_of(p, p + n, [](char c) { return c == '\0'; })) {
    return ::testing::AssertionSuccess();
  }
  std::string shown(p, n);
  std::replace(shown.begin(), shown.end(), '\0', '.');
  return ::testing::AssertionFailure() << "left behind (. is a zero byte): " << shown;
}

TEST(Secret, MovedFromShortSecretKeepsNoByteInItsOwnBuffer) {
  Secret a(std::string("hunter2"));  // 7 bytes: inside the string object (SSO)
  const char* buffer = a.reveal().data();
  const size_t capacity = a.reveal().capacity();
  ASSERT_GE(capacity, 7u);
  Secret b(std::move(a));
  EXPECT_EQ(b.reveal(), "hunter2");
  ASSERT_EQ(a.reveal().data(), buffer);  // NOLINT(bugprone-use-after-move): the point
  EXPECT_TRUE(all_zero(buffer, capacity));

  Secret c;
  const char* c_buffer = b.reveal().data();
  c = std::move(b);
  EXPECT_EQ(c.reveal(), "hunter2");
  ASSERT_EQ(b.reveal().data(), c_buffer);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(all_zero(c_buffer, b.reveal().capacity()));
}

TEST(Secret, OverwrittenLongSecretLeavesNoByteInTheBufferItKeeps) {
  // 100 bytes in a buffer that held 150 (a command's output with its
  // trailing lines cut, say): the last 50 are past size().
  std::string value(150, 's');
  value.resize(100);
  Secret a(std::move(value));
  const char* buffer = a.reveal().data();
  const size_t capacity = a.reveal().capacity();
  ASSERT_GE(capacity, 150u);
  a = Secret(std::string("short"));  // fits: the heap buffer is kept
  ASSERT_EQ(a.reveal().data(), buffer) << "the string gave up its buffer; nothing to check";
  EXPECT_EQ(a.reveal(), "short");
  EXPECT_TRUE(all_zero(buffer + 6, capacity - 6));  // past "short" and its NUL

  Secret b(std::string(100, 'p'));
  const char* b_buffer = b.reveal().data();
  const size_t b_capacity = b.reveal().capacity();
  b = a;  // copy-assign: wiped first, then the shorter value copied in
  ASSERT_EQ(b.reveal().data(), b_buffer);
  EXPECT_TRUE(all_zero(b_buffer + 6, b_capacity - 6));
}

TEST(Wipe, ClearsTheWholeCapacityAndKeepsTheBuffer) {
  std::string s(200, 'x');
  s.resize(20);
  const char* buffer = s.data();
  const size_t capacity = s.capacity();
  wipe(s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), buffer);
  EXPECT_EQ(s.capacity(), capacity);
  EXPECT_TRUE(all_zero(buffer, capacity));

  std::string short_one("1234567");
  wipe(short_one);
  EXPECT_TRUE(all_zero(short_one.data(), short_one.capacity()));

  char raw[16] = "password123";
  wipe(raw, sizeof raw);
  EXPECT_TRUE(all_zero(raw, sizeof raw));
}

}  // namespace
}  // namespace tlsgate::util
