// The MySQL packet format: assembly from bytes as they arrive, the limits,
// and a reader that never reads past a payload.
#include "net/starttls/mysql_wire.h"

#include <gtest/gtest.h>

namespace tlsgate::net::starttls {
namespace {

using Fill = MysqlPacketBuffer::Fill;

TEST(MysqlWire, PacketHeaderIsLengthThenSequenceId) {
  EXPECT_EQ(mysql_packet(7, "abc"), std::string("\x03\x00\x00\x07"
                                                "abc",
                                                7));
  EXPECT_EQ(mysql_packet(0, ""), std::string("\x00\x00\x00\x00", 4));
  std::string big(0x010203, 'x');
  EXPECT_EQ(mysql_packet(1, big).substr(0, 4), std::string("\x03\x02\x01\x01", 4));
}

TEST(MysqlWire, PacketIsAssembledByteByByte) {
  const std::string wire = mysql_packet(3, "hello");
  MysqlPacketBuffer p;
  EXPECT_EQ(p.bytes_wanted(), 4u);
  for (size_t i = 0; i + 1 < wire.size(); ++i) {
    std::string_view one(&wire[i], 1);
    ASSERT_EQ(p.fill(one), Fill::kPartial) << i;
    EXPECT_TRUE(one.empty());
  }
  EXPECT_EQ(p.bytes_wanted(), 1u);
  std::string_view last(&wire.back(), 1);
  ASSERT_EQ(p.fill(last), Fill::kComplete);
  EXPECT_EQ(p.seq(), 3);
  EXPECT_EQ(p.payload(), "hello");
  p.clear();
  EXPECT_FALSE(p.has_header());
  EXPECT_EQ(p.bytes_wanted(), 4u);
}

TEST(MysqlWire, BytesPastThePacketAreRefusedNotKept) {
  std::string wire = mysql_packet(1, "ab") + "\x16\x03";  // a ClientHello's first bytes
  std::string_view in(wire);
  MysqlPacketBuffer p;
  EXPECT_EQ(p.fill(in), Fill::kOverrun);
  EXPECT_EQ(in, "\x16\x03");
}

TEST(MysqlWire, OversizedHeaderIsRefusedBeforeThePayload) {
  std::string header("\x01\x00\x01\x00", 4);  // 65537 bytes
  std::string_view in(header);
  MysqlPacketBuffer p;
  EXPECT_EQ(p.fill(in), Fill::kTooLong);
  EXPECT_EQ(p.length(), kMaxMysqlNegotiationPacket + 1);
}

TEST(MysqlWire, ErrPacketAndItsMessage) {
  auto err = mysql_err_packet(2, 1045, "28000", "no");
  EXPECT_EQ(err, std::string("\x0b\x00\x00\x02\xff\x15\x04#28000no", 15));
  EXPECT_EQ(mysql_err_message(err.substr(4)), "no");
  // Before the server knows the client's capabilities: no SQLSTATE marker.
  EXPECT_EQ(mysql_err_message(std::string("\xff\x15\x04Too many", 11)), "Too many");
  EXPECT_EQ(mysql_err_message("\xff"), "(no message)");
  // A SQLSTATE that is not five characters becomes HY000.
  EXPECT_EQ(mysql_err_packet(0, 1043, "x", "m").substr(8, 5), "HY000");
}

TEST(MysqlWire, ReaderNeverReadsPastTheEnd) {
  MysqlReader r(
      std::string_view("\xfc\x02\x00"
                       "ab"
                       "name\0"
                       "\xfd\x10",
                       12));
  auto len = r.lenenc();
  ASSERT_TRUE(len);
  EXPECT_EQ(*len, 2u);
  EXPECT_EQ(r.bytes(*len), "ab");
  EXPECT_EQ(r.nul_string(), "name");
  EXPECT_FALSE(r.lenenc()) << "a 3-byte length with one byte left";
  MysqlReader unterminated("abc");
  EXPECT_FALSE(unterminated.nul_string());
  EXPECT_FALSE(unterminated.bytes(4));
  EXPECT_EQ(unterminated.bytes(3), "abc");
  EXPECT_TRUE(unterminated.at_end());
  MysqlReader null_length("\xfb");
  EXPECT_FALSE(null_length.lenenc());
}

TEST(MysqlWire, LittleEndianFields) {
  std::string b("\x01\x02\x03\x04\x05", 5);
  EXPECT_EQ(mysql_uint(b, 1, 3), 0x040302u);
  mysql_set_uint(b, 0, 0xaabbccdd, 4);
  EXPECT_EQ(b, std::string("\xdd\xcc\xbb\xaa\x05", 5));
}

}  // namespace
}  // namespace tlsgate::net::starttls
