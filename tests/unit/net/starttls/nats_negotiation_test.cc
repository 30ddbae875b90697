// NatsNegotiation (net/starttls/nats.h) with byte vectors: both modes, the
// plaintext refusal, user_map, upstream TLS, bounds.
#include <gtest/gtest.h>

#include "net/starttls/nats.h"

namespace tlsgate::net::starttls {
namespace {

using NatsNext = NatsStep::Next;
using config::TlsLevel;

const std::string kInfo =
    "INFO {\"server_id\":\"S\",\"port\":4223,\"connect_urls\":[\"10.0.0.1:4223\"]}\r\n";

NatsOptions nats_options(TlsLevel level = TlsLevel::kRequired) {
  NatsOptions o;
  o.level = level;
  return o;
}

TEST(NatsNegotiation, InfoUpgrade) {
  NatsNegotiation n(nats_options());
  EXPECT_EQ(n.start().next, NatsNext::kReadBackend);
  EXPECT_EQ(n.from_backend(kInfo.substr(0, 10)).next, NatsNext::kReadBackend);
  auto s = n.from_backend(kInfo.substr(10));
  ASSERT_EQ(s.next, NatsNext::kPeekClient);
  EXPECT_TRUE(s.windowed);
  EXPECT_TRUE(s.to_client.empty());
  s = n.client_first(std::nullopt);  // the window passed
  ASSERT_EQ(s.next, NatsNext::kPeekClient);
  EXPECT_FALSE(s.windowed);
  EXPECT_EQ(s.to_client, "INFO {\"server_id\":\"S\",\"tls_required\":true}\r\n");
  s = n.client_first(0x16);
  EXPECT_EQ(s.next, NatsNext::kClientTls);
  EXPECT_TRUE(s.to_client.empty());
  s = n.client_tls_ready();
  EXPECT_EQ(s.next, NatsNext::kRelay);
  EXPECT_TRUE(s.to_client.empty());  // INFO went out before TLS
  EXPECT_TRUE(n.client_on_tls());
}

TEST(NatsNegotiation, TlsFirstGetsInfoInsideTls) {
  auto o = nats_options();
  o.client_certificates_required = true;
  NatsNegotiation n(o);
  n.start();
  ASSERT_EQ(n.from_backend(kInfo).next, NatsNext::kPeekClient);
  auto s = n.client_first(0x16);
  EXPECT_EQ(s.next, NatsNext::kClientTls);
  EXPECT_TRUE(s.to_client.empty());
  s = n.client_tls_ready();
  EXPECT_EQ(s.next, NatsNext::kRelay);
  EXPECT_EQ(s.to_client,
            "INFO {\"server_id\":\"S\",\"tls_required\":true,\"tls_verify\":true}"
            "\r\n");
}

TEST(NatsNegotiation, PlaintextUnderRequiredGetsTheServersWords) {
  NatsNegotiation n(nats_options());
  n.start();
  n.from_backend(kInfo);
  n.client_first(std::nullopt);
  auto s = n.client_first('C');
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_TRUE(s.refused_plaintext);
  EXPECT_EQ(s.to_client, "-ERR 'Secure Connection - TLS Required'\r\n");
  EXPECT_TRUE(s.to_backend.empty());
}

TEST(NatsNegotiation, EagerPlaintextClientGetsInfoThenTheRefusal) {
  NatsNegotiation n(nats_options());
  n.start();
  n.from_backend(kInfo);
  auto s = n.client_first('C');  // within the window
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_EQ(s.to_client,
            "INFO {\"server_id\":\"S\",\"tls_required\":true}\r\n"
            "-ERR 'Secure Connection - TLS Required'\r\n");
}

TEST(NatsNegotiation, OptionalRelaysPlaintext) {
  NatsNegotiation n(nats_options(TlsLevel::kOptional));
  n.start();
  n.from_backend(kInfo);
  auto s = n.client_first(std::nullopt);
  EXPECT_EQ(s.to_client,
            "INFO {\"server_id\":\"S\",\"tls_required\":false,\"tls_available\":true}"
            "\r\n");
  EXPECT_EQ(n.client_first('C').next, NatsNext::kRelay);
  EXPECT_FALSE(n.client_on_tls());
}

TEST(NatsNegotiation, DisabledSendsInfoAtOnce) {
  NatsNegotiation n(nats_options(TlsLevel::kDisabled));
  n.start();
  auto s = n.from_backend(kInfo + "PING\r\n");
  EXPECT_EQ(s.next, NatsNext::kRelay);
  EXPECT_EQ(s.to_client, "INFO {\"server_id\":\"S\",\"tls_required\":false}\r\n");
  EXPECT_EQ(n.backend_rest(), "PING\r\n");
}

TEST(NatsNegotiation, UserMapReadsConnectBeforeTheBackendSeesIt) {
  auto o = nats_options();
  std::string asked;
  o.check_user = [&asked](std::string_view user) {
    asked = user;
    return user == "alice" ? std::string() : "identity may not log in as " + std::string(user);
  };
  for (const auto& [user, allowed] :
       {std::pair<std::string, bool>{"alice", true}, {"mallory", false}}) {
    NatsNegotiation n(o);
    n.start();
    n.from_backend(kInfo);
    n.client_first(0x16);
    ASSERT_EQ(n.client_tls_ready().next, NatsNext::kReadClient);
    std::string connect =
        "CONNECT {\"verbose\":false,\"user\":\"" + user + "\",\"pass\":\"pw\"}\r\nPING\r\n";
    EXPECT_EQ(n.from_client(connect.substr(0, 20)).next, NatsNext::kReadClient);
    auto s = n.from_client(connect.substr(20));
    EXPECT_EQ(asked, user);
    if (allowed) {
      EXPECT_EQ(s.next, NatsNext::kRelay);
      EXPECT_EQ(s.to_backend, connect);
    } else {
      EXPECT_EQ(s.next, NatsNext::kClose);
      EXPECT_TRUE(s.refused_user);
      EXPECT_EQ(s.to_client, "-ERR 'Authorization Violation'\r\n");
      EXPECT_EQ(s.reason, "identity may not log in as mallory");
      EXPECT_TRUE(s.to_backend.empty());
    }
  }
}

TEST(NatsNegotiation, UserMapRefusesAnythingButConnect) {
  auto o = nats_options();
  o.check_user = [](std::string_view) { return std::string(); };
  NatsNegotiation n(o);
  n.start();
  n.from_backend(kInfo);
  n.client_first(0x16);
  n.client_tls_ready();
  auto s = n.from_client("PUB x 1\r\na\r\n");
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_EQ(s.to_client, "-ERR 'Authorization Violation'\r\n");
}

// A negotiation with a user_map that allows "alice" only, waiting for CONNECT.
NatsNegotiation at_connect(std::string* asked = nullptr) {
  auto o = nats_options();
  o.check_user = [asked](std::string_view user) {
    if (asked) *asked = user;
    return user == "alice" ? std::string() : "identity may not log in as " + std::string(user);
  };
  NatsNegotiation n(o);
  n.start();
  n.from_backend(kInfo);
  n.client_first(0x16);
  EXPECT_EQ(n.client_tls_ready().next, NatsNext::kReadClient);
  return n;
}

// nats-server decodes CONNECT with Go's encoding/json: member names match
// without case (Unicode folding: "ſ" is "s") and the last duplicate wins. A
// CONNECT the server could read as another user than the one checked is
// refused before the map is asked.
TEST(NatsNegotiation, UserMapRefusesConnectsTheServerReadsOtherwise) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"user":"alice","USER":"admin","pass":"pw"})", "spells its user member \"USER\""},
      {R"({"user":"alice","user":"admin"})", "more than one user member"},
      {R"({"user":"alice","\u0075ser":"admin"})", "more than one user member"},
      {R"({"User":"alice"})", "spells its user member \"User\""},
      {R"({"\u0055SER":"alice"})", "spells its user member \"USER\""},
      {"{\"u\u017fer\":\"admin\",\"user\":\"alice\"}", "member name that is not plain ASCII"},
      {R"({"user":"alice","u\u017fer":"admin"})", "member name that is not plain ASCII"},
      {R"({"user":"alice","x\ud800":1})", "member name that is not plain ASCII"},
      {"{\"user\":\"alice\xff\"}", "a user that is not UTF-8"},
      {R"({"user":"alice\udc00"})", "a user that is not UTF-8"},
      {R"({"user":["alice"]})", "a user that is not a string"},
      {R"({"jwt":"eyJ0","sig":"c2ln"})", "carries jwt"},
      {R"({"user":"alice","jwt":"eyJ0","sig":"c2ln"})", "carries jwt"},
      {R"({"nkey":"UABC","sig":"c2ln"})", "carries nkey"},
      {R"({"user":"alice","pass":"pw","nkey":"UABC"})", "carries nkey"},
      {R"({"auth_token":"t0k"})", "carries auth_token"},
      {R"({"user":"alice","AUTH_TOKEN":"t0k"})", "carries auth_token"},
      {R"({"user":"alice","jwt":"eyJ0","jwt":null})", "carries jwt"},
  };
  for (const auto& [json, why] : cases) {
    std::string asked = "(not asked)";
    auto n = at_connect(&asked);
    auto s = n.from_client("CONNECT " + json + "\r\nPING\r\n");
    EXPECT_EQ(s.next, NatsNext::kClose) << json;
    EXPECT_TRUE(s.refused_user) << json;
    EXPECT_EQ(s.to_client, "-ERR 'Authorization Violation'\r\n") << json;
    EXPECT_TRUE(s.to_backend.empty()) << json;
    EXPECT_NE(s.reason.find(why), std::string::npos) << json << ": " << s.reason;
    EXPECT_EQ(asked, "(not asked)") << json;
  }
}

TEST(NatsNegotiation, UserMapTakesWhatTheServerTakesForUser) {
  for (std::string json : {R"({"user":"alice","pass":"pw","verbose":false})",
                           R"({"\u0075ser":"alice"})", R"({"user":"\u0061lice","jwt":""})",
                           R"({"nkey":null,"auth_token":"","user":"alice","userx":"admin"})"}) {
    std::string asked;
    auto n = at_connect(&asked);
    auto s = n.from_client("CONNECT " + json + "\r\n");
    EXPECT_EQ(s.next, NatsNext::kRelay) << json << ": " << s.reason;
    EXPECT_EQ(asked, "alice") << json;
    EXPECT_EQ(n.user(), "alice");
  }
}

// What came in the same read as the first CONNECT is followed as the relay
// follows the rest: a second CONNECT is refused, a payload is data.
TEST(NatsNegotiation, UserMapFollowsTheBytesAfterConnect) {
  const std::string connect = "CONNECT {\"user\":\"alice\",\"pass\":\"pw\"}\r\n";
  auto n = at_connect();
  auto s = n.from_client(connect + "PING\r\nCONNECT {\"user\":\"admin\",\"pass\":\"pw\"}\r\n");
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_TRUE(s.refused_user);
  EXPECT_EQ(s.to_client, "-ERR 'Authorization Violation'\r\n");
  EXPECT_TRUE(s.to_backend.empty());
  EXPECT_NE(s.reason.find("second CONNECT"), std::string::npos) << s.reason;

  auto m = at_connect();
  const std::string payload = "CONNECT {\"user\":\"admin\"}\r\n";
  const std::string rest = "PUB a " + std::to_string(payload.size()) + "\r\n" + payload + "\r\nPU";
  s = m.from_client(connect + rest);
  ASSERT_EQ(s.next, NatsNext::kRelay) << s.reason;
  EXPECT_EQ(s.to_backend, connect + rest);
  // The relay carries on where the negotiation stopped, in a line.
  auto up = m.take_client_stream();
  ASSERT_NE(up, nullptr);
  EXPECT_TRUE(up->feed("B b 2\r\nhi\r\nCONN"));
  EXPECT_FALSE(up->feed("ECT {\"user\":\"admin\"}\r\n"));
  EXPECT_TRUE(up->refused_connect());
}

TEST(NatsNegotiation, NoUserMapNoClientStream) {
  NatsNegotiation n(nats_options());
  n.start();
  n.from_backend(kInfo);
  n.client_first(0x16);
  ASSERT_EQ(n.client_tls_ready().next, NatsNext::kRelay);
  EXPECT_EQ(n.take_client_stream(), nullptr);
}

TEST(NatsNegotiation, UpstreamTlsUpgradeNeedsTheBackendToOfferIt) {
  auto o = nats_options();
  o.upstream_tls = true;
  NatsNegotiation n(o);
  n.start();
  auto s = n.from_backend(kInfo);
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_TRUE(s.backend_fault);
  NatsNegotiation m(o);
  m.start();
  EXPECT_EQ(m.from_backend("INFO {\"tls_required\":true}\r\n").next, NatsNext::kBackendTls);
  EXPECT_EQ(m.backend_tls_ready().next, NatsNext::kPeekClient);
}

TEST(NatsNegotiation, BackendRequiringTlsNeedsUpstreamTls) {
  NatsNegotiation n(nats_options());
  n.start();
  auto s = n.from_backend("INFO {\"tls_required\":true}\r\n");
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_TRUE(s.backend_fault);
  EXPECT_EQ(s.reason,
            "the NATS backend requires TLS (tls_required in its INFO) but the gate speaks "
            "plaintext to it; set the connector's upstream_ssl_policy");
}

TEST(NatsNegotiation, UpstreamTlsFirstReadsInfoInsideTls) {
  auto o = nats_options();
  o.upstream_tls = true;
  o.upstream_tls_first = true;
  NatsNegotiation n(o);
  EXPECT_EQ(n.start().next, NatsNext::kBackendTls);
  EXPECT_EQ(n.backend_tls_ready().next, NatsNext::kReadBackend);
  EXPECT_EQ(n.from_backend(kInfo).next, NatsNext::kPeekClient);
}

TEST(NatsNegotiation, BoundsAndRefusesWhatIsNotInfo) {
  NatsNegotiation n(nats_options());
  n.start();
  std::string chunk(4096, 'x');
  NatsStep s;
  for (int i = 0; i < 20 && s.next != NatsNext::kClose; ++i) s = n.from_backend(chunk);
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_EQ(s.reason, "the NATS backend's INFO line is longer than 65536 bytes");
  NatsNegotiation m(nats_options());
  m.start();
  s = m.from_backend("+OK\r\n");
  EXPECT_EQ(s.next, NatsNext::kClose);
  EXPECT_EQ(s.reason, "the backend did not start with a NATS INFO line; is it a nats-server?");
}

}  // namespace
}  // namespace tlsgate::net::starttls
