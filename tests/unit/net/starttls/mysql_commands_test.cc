// The client->backend stream of a MySQL session after login, followed for
// COM_CHANGE_USER (mysql_commands.h): each case fed whole, in odd-sized
// pieces and one byte at a time.
#include "net/starttls/mysql_commands.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tlsgate::net::starttls {
namespace {

constexpr size_t kMaxPayload = 0xffffff;

std::string with_nul(std::string_view s) { return std::string(s) + '\0'; }

// COM_CHANGE_USER as libmariadb sends it: name, scramble response, database,
// character set, auth plugin.
std::string change_user(std::string_view user, uint8_t seq = 0) {
  return mysql_packet(seq, "\x11" + with_nul(user) + '\x14' + std::string(20, '\x11') +
                               with_nul("shop") + std::string("\x21\x00", 2) +
                               with_nul("mysql_native_password"));
}

std::string query(std::string_view sql, uint8_t seq = 0) {
  return mysql_packet(seq, "\x03" + std::string(sql));
}

// Everything the follower reports for `bytes` fed `piece` bytes at a time;
// each piece must be used up.
std::vector<MysqlChangeUser> follow(MysqlCommandFollower& f, std::string_view bytes, size_t piece) {
  std::vector<MysqlChangeUser> found;
  while (!bytes.empty()) {
    std::string_view in = bytes.substr(0, piece);
    bytes.remove_prefix(in.size());
    while (auto change = f.next_change_user(in)) found.push_back(*change);
    EXPECT_TRUE(in.empty());
  }
  return found;
}

std::vector<std::string> names(std::string_view bytes, size_t piece) {
  MysqlCommandFollower f;
  std::vector<std::string> out;
  for (const auto& change : follow(f, bytes, piece)) {
    EXPECT_FALSE(change.too_long) << change.user;
    out.push_back(change.user);
  }
  return out;
}

class MysqlCommands : public testing::TestWithParam<size_t> {
 protected:
  size_t piece() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Pieces, MysqlCommands, testing::Values(size_t{1}, size_t{7}, kMaxPayload),
                         [](const testing::TestParamInfo<size_t>& p) {
                           return p.param == kMaxPayload ? std::string("Whole")
                                                         : "By" + std::to_string(p.param);
                         });

using Names = std::vector<std::string>;

TEST_P(MysqlCommands, ChangeUserAmongOtherCommandsIsFound) {
  std::string stream = query("SELECT 1") + change_user("other") + mysql_packet(0, "\x0e") +
                       change_user("app2") + query("SELECT current_user()");
  EXPECT_EQ(names(stream, piece()), (Names{"other", "app2"}));
}

TEST_P(MysqlCommands, QueryHoldingChangeUserBytesIsNoChangeUser) {
  // A query whose text holds 0x11 and a whole change-user packet.
  std::string stream =
      query("SELECT '\x11root\0" + change_user("root") + "'") + query(std::string(300, '\x11'));
  EXPECT_EQ(names(stream, piece()), Names{});
}

TEST_P(MysqlCommands, PacketsWithASequenceIdAboveZeroAreNoCommands) {
  // LOAD DATA LOCAL INFILE content and auth-switch answers.
  std::string stream = query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t") + change_user("root", 2) +
                       mysql_packet(3, "\x11\x11\x11") + mysql_packet(4, "") +
                       change_user("root", 1) + change_user("app2");
  EXPECT_EQ(names(stream, piece()), Names{"app2"});
}

TEST_P(MysqlCommands, ContinuationOfAMaximalPacketIsNoCommand) {
  // A 16 MiB query goes on in packets of its own; one starting with 0x11,
  // even numbered 0 after its ids wrapped, belongs to the query.
  std::string stream = mysql_packet(0, "\x03" + std::string(kMaxPayload - 1, 'x')) +
                       mysql_packet(1, std::string(kMaxPayload, '\x11')) + change_user("root", 0) +
                       change_user("app2");
  EXPECT_EQ(names(stream, std::max<size_t>(piece(), 4096)), Names{"app2"});
}

TEST_P(MysqlCommands, EmptyPacketEndsAMaximalOneAndIsNoCommand) {
  std::string stream = mysql_packet(0, "\x03" + std::string(kMaxPayload - 1, 'x')) +
                       mysql_packet(1, "") + mysql_packet(0, "") + change_user("app2");
  EXPECT_EQ(names(stream, std::max<size_t>(piece(), 4096)), Names{"app2"});
}

TEST_P(MysqlCommands, NameWithoutNulEndsWithItsPacket) {
  // The server reads such a name up to the packet's end: so does the check.
  std::string stream = mysql_packet(0, "\x11root") + mysql_packet(0, "\x11") + query("SELECT 1");
  EXPECT_EQ(names(stream, piece()), (Names{"root", ""}));
}

TEST(MysqlCommandFollower, NameIsKnownBeforeItsPacketIsComplete) {
  // The caller can check it before the server has all of the command.
  std::string packet = change_user("root");
  size_t name_end = 4 + 1 + 5;
  MysqlCommandFollower f;
  std::string_view in(packet.data(), name_end - 1);
  EXPECT_FALSE(f.next_change_user(in));
  in = std::string_view(packet).substr(name_end - 1, 1);
  auto change = f.next_change_user(in);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->user, "root");
  EXPECT_TRUE(in.empty());
  // The rest of the packet is skipped, the next command read.
  std::string rest = packet.substr(name_end) + change_user("app2");
  EXPECT_EQ(follow(f, rest, rest.size()).at(0).user, "app2");
}

TEST(MysqlCommandFollower, LeavesTheBytesAfterTheNameForTheNextCall) {
  std::string stream = change_user("a") + change_user("b");
  MysqlCommandFollower f;
  std::string_view in(stream);
  EXPECT_EQ(f.next_change_user(in)->user, "a");
  EXPECT_EQ(in.size(), stream.size() - (4 + 1 + 2));
  EXPECT_EQ(f.next_change_user(in)->user, "b");
  EXPECT_FALSE(f.next_change_user(in));
  EXPECT_TRUE(in.empty());
}

TEST(MysqlCommandFollower, OverlongNameIsReportedCutAndTheStreamGoesOn) {
  std::string longest(kMaxMysqlUserName, 'u');
  MysqlCommandFollower f;
  auto found =
      follow(f, change_user(longest) + change_user(longest + "v") + change_user("app2"), 1000);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].user, longest);
  EXPECT_FALSE(found[0].too_long);
  EXPECT_EQ(found[1].user, longest);
  EXPECT_TRUE(found[1].too_long);
  EXPECT_EQ(found[2].user, "app2");
  EXPECT_FALSE(found[2].too_long);
}

TEST(MysqlCommandFollower, NameRunningIntoAContinuationIsTooLong) {
  // The server would read on into the next packet; no name is that long.
  std::string stream = mysql_packet(0, "\x11" + std::string(kMaxPayload - 1, 'u')) +
                       mysql_packet(1, with_nul("v")) + change_user("app2");
  MysqlCommandFollower f;
  auto found = follow(f, stream, 65536);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(found[0].too_long);
  EXPECT_EQ(found[0].user.size(), kMaxMysqlUserName);
  EXPECT_EQ(found[1].user, "app2");
}

}  // namespace
}  // namespace tlsgate::net::starttls
