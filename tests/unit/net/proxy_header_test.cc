#include "net/proxy_header.h"

#include <gtest/gtest.h>

namespace tlsgate::net {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

TEST(ProxyHeader, Ipv4WithoutTls) {
  ProxyInfo info;
  info.source = tcp::endpoint(make_address("10.0.0.7"), 51000);
  info.destination = tcp::endpoint(make_address("127.0.0.1"), 6432);
  auto h = proxy_v2_header(info);
  std::string expected("\r\n\r\n\0\r\nQUIT\n", 12);
  expected += bytes({0x21, 0x11, 0x00, 12, 10, 0, 0, 7, 127, 0, 0, 1, 0xC7, 0x38, 0x19, 0x20});
  EXPECT_EQ(h, expected);
}

TEST(ProxyHeader, TlsTlvsAndIdentity) {
  ProxyInfo info;
  info.source = tcp::endpoint(make_address("::1"), 1);
  info.destination = tcp::endpoint(make_address("127.0.0.1"), 2);
  info.tls = true;
  info.client_cert = true;
  info.tls_version = "TLSv1.3";
  info.cipher = "TLS_AES_128_GCM_SHA256";
  info.client_cn = "app1";
  info.identity = "app1";
  auto h = proxy_v2_header(info);
  ASSERT_GE(h.size(), 16u + 36u);
  EXPECT_EQ(static_cast<unsigned char>(h[13]), 0x21);  // TCP over IPv6, v4 destination mapped
  size_t len = (static_cast<unsigned char>(h[14]) << 8) | static_cast<unsigned char>(h[15]);
  EXPECT_EQ(h.size(), 16 + len);
  std::string tlvs = h.substr(16 + 36);
  ASSERT_EQ(static_cast<unsigned char>(tlvs[0]), kPp2TypeSsl);
  size_t ssl_len = (static_cast<unsigned char>(tlvs[1]) << 8) | static_cast<unsigned char>(tlvs[2]);
  std::string ssl = tlvs.substr(3, ssl_len);
  EXPECT_EQ(static_cast<unsigned char>(ssl[0]), 0x07);  // client SSL + cert conn + cert sess
  EXPECT_EQ(ssl.substr(1, 4), std::string(4, '\0'));    // verified
  EXPECT_EQ(ssl.substr(5, 3), bytes({kPp2SubtypeSslVersion, 0, 7}));
  EXPECT_EQ(ssl.substr(8, 7), "TLSv1.3");
  EXPECT_NE(ssl.find(bytes({kPp2SubtypeSslCn, 0, 4}) + "app1"), std::string::npos);
  std::string rest = tlvs.substr(3 + ssl_len);
  EXPECT_EQ(rest, bytes({kPp2TypeTlsgateIdentity, 0, 4}) + "app1");
}

}  // namespace
}  // namespace tlsgate::net
