// NatsServerStream and rewrite_info (net/starttls/nats_stream.h) with byte
// vectors: whole, and fed one byte at a time, which must give the same bytes.
#include <gtest/gtest.h>

#include "net/starttls/nats_json.h"
#include "net/starttls/nats_stream.h"

namespace tlsgate::net::starttls {
namespace {

NatsInfoRewrite gates() {
  NatsInfoRewrite how;
  how.tls_required = true;
  how.tls_verify = true;
  how.advertise = {"gate1:4222", "gate2:4222"};
  how.host = "gate1";
  how.port = 4222;
  return how;
}

// The stream fed whole and byte by byte must agree; returns the output.
std::string through(const NatsInfoRewrite& how, std::string_view in, bool* ok = nullptr) {
  NatsServerStream whole(how);
  std::string out_whole;
  bool ok_whole = whole.feed(in, out_whole);
  NatsServerStream bytes(how);
  std::string out_bytes;
  bool ok_bytes = true;
  for (char c : in) {
    if (!bytes.feed(std::string_view(&c, 1), out_bytes)) {
      ok_bytes = false;
      break;
    }
  }
  EXPECT_EQ(ok_whole, ok_bytes);
  if (ok_whole) {
    EXPECT_EQ(out_whole, out_bytes);
  }
  if (ok) *ok = ok_whole;
  return out_whole;
}

TEST(NatsInfo, RewritesTlsFlagsAndAddressesKeepingTheRest) {
  auto out = rewrite_info(
      R"(INFO {"server_id":"NA","host":"0.0.0.0","port":4223,"headers":true,"tls_required":false,)"
      R"("connect_urls":["10.0.0.1:4223","10.0.0.2:4223"],"ws_connect_urls":["10.0.0.1:8080"],)"
      R"("ldm":true,"ip":"nats://10.0.0.1:4223","nonce":"a\"b"})",
      gates());
  ASSERT_TRUE(out);
  EXPECT_EQ(
      *out,
      R"(INFO {"server_id":"NA","host":"gate1","port":4222,"headers":true,"tls_required":true,)"
      R"("connect_urls":["gate1:4222","gate2:4222"],"ldm":true,"nonce":"a\"b",)"
      "\"tls_verify\":true}\r\n");
}

// Without advertise the backend's addresses are not shown to clients
// (new-user review s23, defect 13): connect_urls, host and port go.
TEST(NatsInfo, DropsTheBackendsAddressesWithoutAdvertise) {
  NatsInfoRewrite how;
  how.tls_available = true;
  auto out = rewrite_info(
      "INFO {\"connect_urls\":[\"10.0.0.1:4223\"],\"host\":\"10.0.0.1\",\"port\":4223,"
      "\"max_payload\":1048576}",
      how);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "INFO {\"max_payload\":1048576,\"tls_required\":false,\"tls_available\":true}\r\n");
}

TEST(NatsInfo, EscapedKeysAndDuplicatesDoNotSlipThrough) {
  auto out = rewrite_info(
      R"(info  {"connect\u005furls":["10.0.0.9:1"],"connect_urls":["10.0.0.8:1"],"tls_required":false,"tls_required":false})",
      gates());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->find("10.0.0."), std::string::npos) << *out;
  EXPECT_EQ(*out,
            "INFO {\"connect_urls\":[\"gate1:4222\",\"gate2:4222\"],\"tls_required\":true,"
            "\"tls_verify\":true}\r\n");
}

TEST(NatsInfo, RefusesWhatIsNotOneObject) {
  for (std::string_view bad :
       {"INFO", "INFO ", "INFO {", "INFO []", "INFO {\"a\":1} x", "INFO {\"a\":01x}",
        "INFO {\"a\":\"\\q\"}", "INFOX {}", "INFO {\"a\":1,}", "PING"}) {
    EXPECT_FALSE(rewrite_info(bad, gates())) << bad;
  }
  std::string deep = "INFO {\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(rewrite_info(deep, gates()));
}

TEST(NatsJson, DecodesStringsAndQuotes) {
  EXPECT_EQ(json_string_value(R"("a\u00e9\ud83d\ude00\n")"), "a\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_FALSE(json_string_value("\"a"));
  EXPECT_FALSE(json_string_value("\"a\" "));
  EXPECT_EQ(json_quote("a\"\\\x01"), "\"a\\\"\\\\\\u0001\"");
}

TEST(NatsServerStream, PayloadHoldingInfoIsPassedIntact) {
  std::string payload = "INFO {\"connect_urls\":[\"10.0.0.1:4223\"]}\r\nMSG x 1 3\r\n";
  std::string in = "MSG a.b 1 " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n" +
                   "HMSG a.b 2 _INBOX.x 12 " + std::to_string(12 + payload.size()) +
                   "\r\nNATS/1.0\r\n\r\n" + payload + "\r\nPING\r\n";
  EXPECT_EQ(through(gates(), in), in);
}

TEST(NatsServerStream, LaterInfoIsRewrittenBetweenMessages) {
  std::string in =
      "+OK\r\nMSG s 1 2\r\nhi\r\nINFO {\"connect_urls\":[\"10.0.0.1:4223\"],\"ldm\":true}\r\n"
      "PONG\r\n-ERR 'Stale Connection'\r\nMSG s 1 0\r\n\r\n";
  EXPECT_EQ(through(gates(), in),
            "+OK\r\nMSG s 1 2\r\nhi\r\nINFO {\"connect_urls\":[\"gate1:4222\",\"gate2:4222\"],"
            "\"ldm\":true,\"tls_required\":true,\"tls_verify\":true}\r\n"
            "PONG\r\n-ERR 'Stale Connection'\r\nMSG s 1 0\r\n\r\n");
}

TEST(NatsServerStream, RefusesBrokenFraming) {
  for (std::string_view bad : {"MSG s 1 3\r\nabcX\r\n", "MSG s 1\r\n", "MSG s 1 x\r\n",
                               "MSG s 1 99999999999\r\n", "HMSG s 1 9 3\r\n", "HMSG s 1 3\r\n",
                               "SUB x 1\r\n", "INFO nope\r\n", "MSG s 1 r 2 3 4\r\n"}) {
    bool ok = true;
    through(gates(), bad, &ok);
    EXPECT_FALSE(ok) << bad;
  }
}

TEST(NatsServerStream, BoundsTheControlLine) {
  NatsServerStream s(gates());
  std::string out;
  std::string chunk(1024, 'x');
  bool ok = s.feed("PIN", out);
  for (size_t i = 0; ok && i < kMaxNatsLine / chunk.size() + 1; ++i) ok = s.feed(chunk, out);
  EXPECT_FALSE(ok);
  EXPECT_LE(s.held(), kMaxNatsLine);
  EXPECT_EQ(s.error(), "a control line from the server is longer than 65536 bytes");
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(s.feed("PING\r\n", out));  // broken stays broken
}

TEST(NatsServerStream, HoldsOnlyTheIncompleteLineNotPayloads) {
  NatsServerStream s(gates());
  std::string out;
  ASSERT_TRUE(s.feed("MSG s 1 1000000\r\n", out));
  std::string big(500000, 'p');
  ASSERT_TRUE(s.feed(big, out));
  EXPECT_EQ(s.held(), 0u);
  EXPECT_EQ(out.size(), std::string("MSG s 1 1000000\r\n").size() + big.size());
  ASSERT_TRUE(s.feed("PI", out));
  EXPECT_EQ(s.held(), 0u);  // still inside the payload
}

// NatsClientStream fed whole and byte by byte must agree; returns whether it
// accepted IN (and sets *connect to refused_connect()).
bool follows(std::string_view in, bool* connect = nullptr) {
  NatsClientStream whole;
  const bool ok_whole = whole.feed(in);
  NatsClientStream bytes;
  bool ok_bytes = true;
  for (char c : in) {
    if (!bytes.feed(std::string_view(&c, 1))) {
      ok_bytes = false;
      break;
    }
  }
  EXPECT_EQ(ok_whole, ok_bytes) << in;
  EXPECT_EQ(whole.refused_connect(), bytes.refused_connect()) << in;
  EXPECT_EQ(whole.error(), bytes.error()) << in;
  if (connect) *connect = whole.refused_connect();
  return ok_whole;
}

TEST(NatsClientStream, PayloadHoldingConnectIsData) {
  const std::string payload = "CONNECT {\"user\":\"admin\",\"pass\":\"pw\"}\r\nPUB x 1\r\n";
  const std::string in = "SUB a.> 1\r\nsub b q 2\r\nPUB a.b " + std::to_string(payload.size()) +
                         "\r\n" + payload + "\r\npub a.b _INBOX.r 0\r\n\r\nHPUB a.b 12 " +
                         std::to_string(12 + payload.size()) + "\r\nNATS/1.0\r\n\r\n" + payload +
                         "\r\nHPUB a _INBOX.r 12 12\r\nNATS/1.0\r\n\r\n\r\nUNSUB 1\r\nUNSUB 2 "
                         "5\r\nPING\r\nPONG\r\nPUB\tt\t2\r\nhi\r\n";
  EXPECT_TRUE(follows(in));
}

TEST(NatsClientStream, RefusesASecondConnect) {
  for (std::string_view in :
       {"CONNECT {\"user\":\"admin\"}\r\n", "PING\r\nconnect {}\r\n",
        "PUB a 2\r\nhi\r\nCoNnEcT\t{}\n", "PUB a 0\r\n\r\nCONNECT {\"user\":\"admin\"}\n"}) {
    bool connect = false;
    EXPECT_FALSE(follows(in, &connect)) << in;
    EXPECT_TRUE(connect) << in;
  }
  // Split across reads, as TLS records may cut it.
  NatsClientStream s;
  EXPECT_TRUE(s.feed("PING\r\nCO"));
  EXPECT_TRUE(s.feed("NNECT {\"user\":"));
  EXPECT_FALSE(s.feed("\"admin\"}\r\nPING\r\n"));
  EXPECT_TRUE(s.refused_connect());
  EXPECT_FALSE(s.feed("PING\r\n"));  // broken stays broken
}

TEST(NatsClientStream, RefusesWhatItCannotFollow) {
  for (std::string_view in :
       {"PUB a 3\r\nabcX\r\n", "PUB a\r\n", "PUB a b c 1\r\n", "PUB a x\r\n",
        "PUB a 99999999999\r\n", "PUB a 67108865\r\n", "HPUB a 9 3\r\n", "HPUB a 3\r\n",
        "MSG a 1 1\r\nx\r\n", "INFO {}\r\n", "+OK\r\n", "\r\n", " PING\r\n", "CONNECTX {}\r\n"}) {
    bool connect = true;
    EXPECT_FALSE(follows(in, &connect)) << in;
    EXPECT_FALSE(connect) << in;
  }
}

TEST(NatsClientStream, BoundsTheControlLineNotPayloads) {
  NatsClientStream s;
  std::string chunk(1024, 'x');
  bool ok = s.feed("PUB ");
  for (size_t i = 0; ok && i < kMaxNatsLine / chunk.size() + 1; ++i) ok = s.feed(chunk);
  EXPECT_FALSE(ok);
  EXPECT_LE(s.held(), kMaxNatsLine);
  EXPECT_EQ(s.error(), "a control line from the client is longer than 65536 bytes");

  // The bound does not depend on where the reads split the line: a line of
  // kMaxNatsLine bytes before its '\n' passes, one more does not.
  const std::string longest = "PUB a 0" + std::string(kMaxNatsLine - 8, ' ') + "\r";
  ASSERT_EQ(longest.size(), kMaxNatsLine);
  EXPECT_TRUE(follows(longest + "\n\r\n"));
  EXPECT_FALSE(follows(" " + longest + "\n\r\n"));

  NatsClientStream t;
  ASSERT_TRUE(t.feed("PUB s 1000000\r\n"));
  ASSERT_TRUE(t.feed(std::string(500000, 'p')));
  EXPECT_EQ(t.held(), 0u);
}

}  // namespace
}  // namespace tlsgate::net::starttls
