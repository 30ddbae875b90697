// Our own ClientHello and the ServerHello parser (tls/client_hello.h), with byte vectors.
#include "tls/client_hello.h"

#include <gtest/gtest.h>

#include "support/bytes.h"

namespace tlsgate::tls {
namespace {

using tlsgate::test::bytes;

// A handshake record holding a ServerHello with `version`, `suite` and the given extensions.
std::string server_hello(uint16_t version, uint16_t suite, const std::string& extensions = "") {
  std::string body = bytes({version >> 8, version & 0xff});
  body += std::string(32, '\x11');  // random
  body += bytes({0});               // empty session id
  body += bytes({suite >> 8, suite & 0xff, 0});
  if (!extensions.empty()) {
    body += bytes(
        {static_cast<int>(extensions.size() >> 8), static_cast<int>(extensions.size() & 0xff)});
    body += extensions;
  }
  std::string hs =
      bytes({2, 0, static_cast<int>(body.size() >> 8), static_cast<int>(body.size() & 0xff)}) +
      body;
  return bytes({22, 3, 3, static_cast<int>(hs.size() >> 8), static_cast<int>(hs.size() & 0xff)}) +
         hs;
}

TEST(ClientHello, LayoutForTls12) {
  HelloOptions o;
  o.version = kTls12;
  o.suites = {0xC02F, 0x0096};
  o.server_name = "db.example";
  std::string h = build_client_hello(o);
  ASSERT_GE(h.size(), 5U + 4 + 2 + 32 + 1 + 2 + 4 + 2);
  EXPECT_EQ(h.substr(0, 3), bytes({22, 3, 1}));  // handshake record, TLS 1.0 record version
  size_t rec_len = (static_cast<uint8_t>(h[3]) << 8) | static_cast<uint8_t>(h[4]);
  EXPECT_EQ(rec_len, h.size() - 5);
  EXPECT_EQ(h[5], 1);                        // client_hello
  EXPECT_EQ(h.substr(9, 2), bytes({3, 3}));  // client_version TLS 1.2
  EXPECT_EQ(h[43], 0);                       // empty session id
  EXPECT_EQ(h.substr(44, 6), bytes({0, 4, 0xC0, 0x2F, 0x00, 0x96}));
  EXPECT_EQ(h.substr(50, 2), bytes({1, 0}));           // null compression only
  EXPECT_NE(h.find("db.example"), std::string::npos);  // SNI
}

TEST(ClientHello, Ssl3HasSsl3RecordAndNoExtensions) {
  HelloOptions o;
  o.version = kSsl3;
  o.suites = {0x000A};
  o.server_name = "db.example";
  std::string h = build_client_hello(o);
  EXPECT_EQ(h.substr(0, 3), bytes({22, 3, 0}));
  EXPECT_EQ(h.find("db.example"), std::string::npos);
  EXPECT_EQ(h.size(), 5U + 4 + 2 + 32 + 1 + 2 + 2 + 2);
}

TEST(ServerHelloParser, ReadsVersionAndSuite) {
  auto r = parse_server_hello(server_hello(kTls12, 0xC02F));
  ASSERT_EQ(r.kind, ServerHelloResult::Kind::kServerHello) << r.error;
  EXPECT_EQ(r.version, kTls12);
  EXPECT_EQ(r.suite, 0xC02F);
}

TEST(ServerHelloParser, SupportedVersionsWins) {
  std::string ext = bytes({0x00, 0x2b, 0, 2, 3, 4});
  auto r = parse_server_hello(server_hello(kTls12, 0x1301, ext));
  ASSERT_EQ(r.kind, ServerHelloResult::Kind::kServerHello) << r.error;
  EXPECT_EQ(r.version, kTls13);
}

TEST(ServerHelloParser, NeedsMoreUntilWhole) {
  std::string full = server_hello(kTls10, 0x002F);
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(parse_server_hello(full.substr(0, n)).kind, ServerHelloResult::Kind::kNeedMore) << n;
  }
}

TEST(ServerHelloParser, ServerHelloSpanningTwoRecords) {
  std::string full = server_hello(kTls12, 0x009C);
  std::string hs = full.substr(5);
  std::string a = hs.substr(0, 10), b = hs.substr(10);
  std::string split = bytes({22, 3, 3, 0, static_cast<int>(a.size())}) + a +
                      bytes({22, 3, 3, 0, static_cast<int>(b.size())}) + b;
  auto r = parse_server_hello(split);
  ASSERT_EQ(r.kind, ServerHelloResult::Kind::kServerHello) << r.error;
  EXPECT_EQ(r.suite, 0x009C);
}

TEST(ServerHelloParser, Alert) {
  auto r = parse_server_hello(bytes({21, 3, 3, 0, 2, 2, 40}));
  ASSERT_EQ(r.kind, ServerHelloResult::Kind::kAlert);
  EXPECT_EQ(r.alert, 40);  // handshake_failure
}

TEST(ServerHelloParser, RefusesWhatIsNotTls) {
  EXPECT_EQ(parse_server_hello("HTTP/1.1 400 Bad Request\r\n").kind,
            ServerHelloResult::Kind::kMalformed);
  EXPECT_EQ(parse_server_hello(bytes({22, 9, 9, 0, 1, 0})).kind,
            ServerHelloResult::Kind::kMalformed);
  // A certificate message where the ServerHello belongs.
  EXPECT_EQ(parse_server_hello(bytes({22, 3, 3, 0, 4, 11, 0, 0, 0})).kind,
            ServerHelloResult::Kind::kMalformed);
  // A session id longer than 32 bytes.
  std::string bad = server_hello(kTls12, 0xC02F);
  bad[5 + 4 + 34] = 40;
  EXPECT_EQ(parse_server_hello(bad).kind, ServerHelloResult::Kind::kMalformed);
}

TEST(SuiteTraits, ReadOffNames) {
  auto gcm = suite_traits("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_TRUE(gcm.aead);
  EXPECT_TRUE(gcm.forward_secrecy);
  EXPECT_FALSE(gcm.weak);
  auto cbc = suite_traits("TLS_RSA_WITH_AES_128_CBC_SHA");
  EXPECT_TRUE(cbc.cbc);
  EXPECT_FALSE(cbc.forward_secrecy);
  EXPECT_EQ(cbc.kx, "RSA");
  EXPECT_EQ(suite_traits("TLS_RSA_WITH_RC4_128_SHA").weakness, "RC4");
  EXPECT_EQ(suite_traits("TLS_RSA_WITH_3DES_EDE_CBC_SHA").weakness, "3DES");
  EXPECT_TRUE(suite_traits("TLS_AES_256_GCM_SHA384").aead);
  EXPECT_EQ(suite_name(0x0096), "TLS_RSA_WITH_SEED_CBC_SHA");
  EXPECT_EQ(suite_name(0xFFFE), "0xFFFE");
}

}  // namespace
}  // namespace tlsgate::tls
