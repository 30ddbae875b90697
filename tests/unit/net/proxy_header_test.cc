#include "net/proxy_header.h"

#include <gtest/gtest.h>

#include "support/bytes.h"

namespace tlsgate::net {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

using tlsgate::test::bytes;

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
  info.verified = true;
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

// Under trust_all nobody verified the certificate (review s23, security
// finding 5), and a client without one has none verified: verify is non-zero.
TEST(ProxyHeader, AnUnverifiedOrAbsentCertificateIsSaidToBeOne) {
  ProxyInfo info;
  info.source = tcp::endpoint(make_address("127.0.0.1"), 1);
  info.destination = tcp::endpoint(make_address("127.0.0.1"), 2);
  info.tls = true;
  info.client_cert = true;
  info.verified = false;
  info.tls_version = "TLSv1.3";
  info.cipher = "TLS_AES_128_GCM_SHA256";
  auto h = proxy_v2_header(info);
  std::string ssl = h.substr(16 + 12 + 3);
  EXPECT_EQ(static_cast<unsigned char>(ssl[0]), 0x07);
  EXPECT_EQ(ssl.substr(1, 4), bytes({0, 0, 0, 1}));  // verify: not verified
  info.client_cert = false;
  ssl = proxy_v2_header(info).substr(16 + 12 + 3);
  EXPECT_EQ(static_cast<unsigned char>(ssl[0]), 0x01);  // TLS, no certificate
  EXPECT_EQ(ssl.substr(1, 4), bytes({0, 0, 0, 1}));
}

size_t be16_at(const std::string& h, size_t at) {
  return (static_cast<unsigned char>(h[at]) << 8) | static_cast<unsigned char>(h[at + 1]);
}

// Found by tests/fuzz/proxy_header_fuzz: a TLV length is 16 bits, and an
// identity of 65536 + 8 bytes was written with length 8, so a backend read
// the rest of it as TLVs of its own: here, an identity TLV saying "admin".
TEST(ProxyHeader, IdentityTooLongForATlvIsLeftOutNotWrapped) {
  ProxyInfo info;
  info.source = tcp::endpoint(make_address("10.0.0.7"), 51000);
  info.destination = tcp::endpoint(make_address("127.0.0.1"), 6432);
  info.identity = std::string(65536, 'a') + std::string(8, 'b');
  info.identity.replace(8, 8, bytes({kPp2TypeTlsgateIdentity, 0, 5}) + "admin");
  auto h = proxy_v2_header(info);
  ASSERT_GE(h.size(), 16u);
  EXPECT_EQ(h.size(), 16 + be16_at(h, 14));  // the length field covers exactly the rest
  EXPECT_EQ(h.size(), 16u + 12u);            // addresses only: no identity TLV at all
  EXPECT_EQ(h.find("admin"), std::string::npos);
}

TEST(ProxyHeader, LongCnIsLeftOutIdentityAndTlsFieldsKept) {
  ProxyInfo info;
  info.source = tcp::endpoint(make_address("10.0.0.7"), 1);
  info.destination = tcp::endpoint(make_address("10.0.0.8"), 2);
  info.tls = true;
  info.client_cert = true;
  info.verified = true;
  info.tls_version = "TLSv1.3";
  info.cipher = "TLS_AES_128_GCM_SHA256";
  info.client_cn = std::string(65500, 'c');
  info.identity = "app1";
  auto h = proxy_v2_header(info);
  ASSERT_GE(h.size(), 16u + 12u + 3u);
  EXPECT_EQ(h.size(), 16 + be16_at(h, 14));
  std::string tlvs = h.substr(16 + 12);
  ASSERT_EQ(static_cast<unsigned char>(tlvs[0]), kPp2TypeSsl);
  size_t ssl_len = be16_at(tlvs, 1);
  std::string ssl = tlvs.substr(3, ssl_len);
  EXPECT_EQ(ssl, bytes({0x07, 0, 0, 0, 0, kPp2SubtypeSslVersion, 0, 7}) + "TLSv1.3" +
                     bytes({kPp2SubtypeSslCipher, 0, 22}) + "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(tlvs.substr(3 + ssl_len), bytes({kPp2TypeTlsgateIdentity, 0, 4}) + "app1");
}

}  // namespace
}  // namespace tlsgate::net
