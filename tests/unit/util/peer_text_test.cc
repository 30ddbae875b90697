// util/peer_text.h with byte vectors: what may reach a log line or an error
// message as it is, and what is shown as its bytes.
#include "util/peer_text.h"

#include <string>

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

TEST(EscapeControls, KeepsUtf8ThatReadsAsItIs) {
  EXPECT_EQ(escape_controls("CN=db1.example.com, O=\xc3\x9cn\xc3\xaf"
                            "code, L=\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x94\x92"),
            "CN=db1.example.com, O=\xc3\x9cn\xc3\xaf"
            "code, L=\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x94\x92");
  EXPECT_EQ(escape_controls(""), "");
}

TEST(EscapeControls, ControlsOfC0AndC1AndDelAreBytes) {
  EXPECT_EQ(escape_controls("a\nb\rc\td\x1b[31me\x7f"), "a\\nb\\rc\\td\\x1b[31me\\x7f");
  EXPECT_EQ(escape_controls(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(escape_controls("csi\xc2\x9b"
                            "2J nel\xc2\x85"),
            "csi\\xc2\\x9b2J nel\\xc2\\x85");
}

// "Trojan Source" (CVE-2021-42574): overrides, isolates, invisible marks and
// the Unicode line separators make a line read otherwise than its bytes.
TEST(EscapeControls, BidiInvisibleAndSeparatorCharactersAreBytes) {
  EXPECT_EQ(escape_controls("admin\xe2\x80\xae"
                            "exe.txt"),
            "admin\\xe2\\x80\\xaeexe.txt");  // U+202E
  EXPECT_EQ(escape_controls("a\xe2\x81\xa6"
                            "b"),
            "a\\xe2\\x81\\xa6b");                                                   // U+2066
  EXPECT_EQ(escape_controls("zero\xe2\x80\x8bwidth"), "zero\\xe2\\x80\\x8bwidth");  // U+200B
  EXPECT_EQ(escape_controls("line\xe2\x80\xa8sep"), "line\\xe2\\x80\\xa8sep");      // U+2028
  EXPECT_EQ(escape_controls("\xef\xbb\xbf"
                            "bom"),
            "\\xef\\xbb\\xbfbom");                                           // U+FEFF
  EXPECT_EQ(escape_controls("arabic\xd8\x9cmark"), "arabic\\xd8\\x9cmark");  // U+061C
}

TEST(EscapeControls, BytesThatAreNotUtf8AreBytes) {
  EXPECT_EQ(escape_controls("\xff\xfe end"), "\\xff\\xfe end");
  EXPECT_EQ(escape_controls("stray \x80 continuation"), "stray \\x80 continuation");
  EXPECT_EQ(escape_controls("overlong \xc0\xaf"), "overlong \\xc0\\xaf");  // '/' in 2 bytes
  EXPECT_EQ(escape_controls("surrogate \xed\xa0\x80"), "surrogate \\xed\\xa0\\x80");
  EXPECT_EQ(escape_controls("past max \xf4\x90\x80\x80"), "past max \\xf4\\x90\\x80\\x80");
  EXPECT_EQ(escape_controls("cut \xe2\x80"), "cut \\xe2\\x80");
  EXPECT_EQ(escape_controls("cut then ascii \xe2\x80z"), "cut then ascii \\xe2\\x80z");
}

}  // namespace
}  // namespace tlsgate::util
