#include "pki/base64.h"

#include <gtest/gtest.h>

namespace tlsgate::pki {
namespace {

TEST(Base64, DecodesAndRejects) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(decode_base64("aGVsbA=="), "hell");
  EXPECT_FALSE(decode_base64("aGVsbG8"));
  EXPECT_FALSE(decode_base64("aG=sbG8="));
  EXPECT_FALSE(decode_base64("a!Vs"));
  EXPECT_FALSE(decode_base64(""));
}

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes = "x";  // the empty string is not base64 here
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(decode_base64(encode_base64(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37));
  }
}

}  // namespace
}  // namespace tlsgate::pki
