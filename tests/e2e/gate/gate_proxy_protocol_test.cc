// `tlsgate serve` with connector.<name>.proxy_protocol=v2: the backend gets a
// PROXY v2 header first. The echo backend sends it back, so the client can
// read and check it byte by byte.
#include <cstdint>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

std::string proxy_signature() { return {"\r\n\r\n\0\r\nQUIT\n", 12}; }

struct ProxyHeader {
  unsigned version_command = 0, family = 0;
  std::string src_ip, dst_ip;
  int src_port = 0, dst_port = 0;
  std::map<int, std::string> tlvs;      // top-level TLVs by type
  std::map<int, std::string> ssl_subs;  // sub-TLVs of PP2_TYPE_SSL
  unsigned ssl_client = 0;
  uint32_t ssl_verify = 0xffffffff;
};

unsigned byte(const std::string& s, size_t i) { return static_cast<unsigned char>(s.at(i)); }
unsigned be16(const std::string& s, size_t i) { return byte(s, i) << 8 | byte(s, i + 1); }

std::map<int, std::string> parse_tlvs(const std::string& s, size_t from, size_t to) {
  std::map<int, std::string> out;
  while (from + 3 <= to) {
    unsigned type = byte(s, from);
    unsigned len = be16(s, from + 1);
    out[static_cast<int>(type)] = s.substr(from + 3, len);
    from += 3 + len;
  }
  return out;
}

std::string ipv4(const std::string& s, size_t i) {
  return std::to_string(byte(s, i)) + "." + std::to_string(byte(s, i + 1)) + "." +
         std::to_string(byte(s, i + 2)) + "." + std::to_string(byte(s, i + 3));
}

// Reads one PROXY v2 header (IPv4) from the client's stream.
::testing::AssertionResult read_header(TlsClient& c, ProxyHeader& h) {
  auto fixed = c.read(16);
  if (fixed.data.size() != 16)
    return ::testing::AssertionFailure() << "no 16-byte header: " << to_string(fixed.end);
  if (fixed.data.substr(0, 12) != proxy_signature())
    return ::testing::AssertionFailure() << "no PROXY v2 signature";
  h.version_command = byte(fixed.data, 12);
  h.family = byte(fixed.data, 13);
  unsigned len = be16(fixed.data, 14);
  auto rest = c.read(len);
  if (rest.data.size() != len) return ::testing::AssertionFailure() << "short header body";
  if (h.family != 0x11)
    return ::testing::AssertionFailure() << "family " << h.family << ", want TCP over IPv4";
  h.src_ip = ipv4(rest.data, 0);
  h.dst_ip = ipv4(rest.data, 4);
  h.src_port = static_cast<int>(be16(rest.data, 8));
  h.dst_port = static_cast<int>(be16(rest.data, 10));
  h.tlvs = parse_tlvs(rest.data, 12, len);
  if (auto it = h.tlvs.find(0x20); it != h.tlvs.end() && it->second.size() >= 5) {
    const auto& ssl = it->second;
    h.ssl_client = byte(ssl, 0);
    h.ssl_verify = byte(ssl, 1) << 24 | byte(ssl, 2) << 16 | byte(ssl, 3) << 8 | byte(ssl, 4);
    h.ssl_subs = parse_tlvs(ssl, 5, ssl.size());
  }
  return ::testing::AssertionSuccess();
}

class GateProxyProtocol : public GateFixture {};

TEST_F(GateProxyProtocol, BackendLearnsTheClientAddressTlsAndIdentity) {
  auto alice = client_cert("alice", ca_);
  conf_.set("connector.echo.proxy_protocol", "v2")
      .set("ssl.policy.gate.client_auth", "REQUIRE")
      .set("ssl.policy.gate.identity_from", "cn");
  start_gate();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
  ASSERT_TRUE(c.write_all("after the header\n"));

  ProxyHeader h;
  ASSERT_TRUE(read_header(c, h));
  EXPECT_EQ(h.version_command, 0x21U);  // version 2, PROXY
  EXPECT_EQ(h.src_ip, "127.0.0.1");
  EXPECT_EQ(h.src_port, c.local_port());
  EXPECT_EQ(h.dst_ip, "127.0.0.1");
  EXPECT_EQ(h.dst_port, gate_port_);
  ASSERT_EQ(h.tlvs.count(0x20), 1U) << "no PP2_TYPE_SSL";
  EXPECT_EQ(h.ssl_client, 0x07U);  // PP2_CLIENT_SSL | CERT_CONN | CERT_SESS
  EXPECT_EQ(h.ssl_verify, 0U);     // verified
  EXPECT_EQ(h.ssl_subs[0x21], "TLSv1.3");
  EXPECT_EQ(h.ssl_subs[0x22], "alice");
  EXPECT_EQ(h.ssl_subs[0x23], SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl())));
  EXPECT_EQ(h.tlvs[0xE0], "alice");  // the mapped identity

  // Then the client's own bytes, unchanged.
  EXPECT_EQ(c.read(17).data, "after the header\n");
}

TEST_F(GateProxyProtocol, AnonymousTlsClientHasNoCertificateBitsOrIdentity) {
  conf_.set("connector.echo.proxy_protocol", "v2");  // client_auth=NONE
  start_gate();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(c.write_all("x"));
  ProxyHeader h;
  ASSERT_TRUE(read_header(c, h));
  EXPECT_EQ(h.ssl_client, 0x01U);
  EXPECT_EQ(h.ssl_verify, 1U);  // no certificate verified (the spec's, and HAProxy's, word)
  EXPECT_EQ(h.ssl_subs.count(0x22), 0U);
  EXPECT_EQ(h.tlvs.count(0xE0), 0U);
  EXPECT_EQ(c.read(1).data, "x");
}

}  // namespace
}  // namespace tlsgate::e2e::gate
