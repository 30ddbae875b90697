// `tlsgate serve` log records cannot be broken or forged by what a peer
// sends: a client certificate whose CN (its identity under identity_from=cn)
// holds a quote, a line break that starts a fake record and an escape
// sequence is refused by allowed_identities, which logs that identity. In
// JSON every line must parse and keep to its fields; in text no line may
// start with the fake record. A verified client (alice) comes first.
#include <set>

#include <nlohmann/json.hpp>

#include "e2e_helpers.h"
#include "support/echo_server.h"
#include "support/gate_process.h"
#include "support/loopback.h"

namespace tlsgate::e2e {
namespace {

const std::string kForgedStart = "2030-01-01 00:00:00.000 error FORGED";
// Every field a JSON record may have (cli/log_formatter.h).
const std::set<std::string> kFields = {"time",   "level",    "message", "connector",
                                       "client", "identity", "reason"};

class LogRecords : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca");
    tg_ok("cert issue --ca ca --out server localhost 127.0.0.1");
    tg_ok("cert issue --ca ca --out alice --client alice");
    ASSERT_EQ(shell("mkdir -p server/trusted server/revoked && cp ca/ca.crt server/trusted/").code,
              0);
    // The openssl CLI mints the hostile client certificate: our own `cert
    // issue` refuses such a name.
    std::string subject = "/CN=evil\" \"level\":\"error\n" + kForgedStart + "\x1b[31m";
    Proc req = shell(
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout evil.key -out evil.csr -subj " +
        test::shell_quote(subject) +
        " && printf 'extendedKeyUsage=clientAuth\\n' > ext.cnf"
        " && openssl x509 -req -in evil.csr -CA ca/ca.crt -CAkey ca/ca.key "
        "-days 1 -extfile ext.cnf -out evil.crt");
    ASSERT_EQ(req.code, 0) << describe(req);
  }

  // Runs the gate with FORMAT, connects once with the hostile certificate,
  // and returns the gate's log once the refusal is in it.
  std::string log_of_refused_client(const std::string& format) {
    int port = test::free_loopback_port();
    std::string conf =
        "server.log_level=debug\n"
        "server.log_format=" +
        format +
        "\n"
        "ssl.policy.gate.enabled=true\n"
        "ssl.policy.gate.base_directory=" +
        path("server").string() +
        "\n"
        "ssl.policy.gate.client_auth=REQUIRE\n"
        "ssl.policy.gate.identity_from=cn\n"
        "ssl.policy.gate.allowed_identities=alice\n"
        "connector.echo.listen_address=127.0.0.1:" +
        std::to_string(port) +
        "\n"
        "connector.echo.upstream_address=127.0.0.1:" +
        std::to_string(echo_.port()) +
        "\n"
        "connector.echo.ssl_policy=gate\n";
    test::GateProcess gate(dir_, conf, "log-" + format);
    EXPECT_EQ(gate.wait_listening(port), "") << gate.log();
    Proc welcome = shell("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                         " -CAfile ca/ca.crt -cert alice/public.crt -key alice/private.key "
                         "</dev/null");
    EXPECT_TRUE(gate.wait_for_log("TLS handshake done")) << describe(welcome) << gate.log();
    Proc client = shell("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                        " -CAfile ca/ca.crt -cert evil.crt -key evil.key </dev/null");
    EXPECT_TRUE(gate.wait_for_log("allowed_identities")) << describe(client) << gate.log();
    gate.terminate();
    return gate.log();
  }

  test::EchoServer echo_;
};

TEST_F(LogRecords, JsonLinesAllParseAndKeepThePeersTextInsideTheMessage) {
  std::string log = log_of_refused_client("json");
  int records = 0;
  bool hostile_seen = false;
  bool verified_seen = false;
  for (const auto& line : lines(log)) {
    if (line.empty()) continue;
    nlohmann::json record;
    ASSERT_NO_THROW(record = nlohmann::json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(record.is_object()) << line;
    for (const auto& [key, value] : record.items()) {
      EXPECT_TRUE(kFields.contains(key)) << "a peer added field " << key << ": " << line;
      EXPECT_TRUE(value.is_string()) << line;
    }
    ASSERT_TRUE(record.contains("message")) << line;
    std::string message = record["message"];
    if (message.find("FORGED") != std::string::npos) {
      hostile_seen = true;
      EXPECT_NE(message.find("\n" + kForgedStart), std::string::npos) << message;
      // The refusal's fields: the identity was refused, not verified, so
      // it is only in the message.
      EXPECT_EQ(record.value("connector", ""), "echo") << line;
      EXPECT_TRUE(record.value("client", "").starts_with("127.0.0.1:")) << line;
      EXPECT_EQ(record.value("reason", ""), "identity_not_allowed") << line;
      EXPECT_FALSE(record.contains("identity")) << line;
    }
    if (message.find("TLS handshake done") != std::string::npos &&
        record.value("identity", "") == "alice") {
      verified_seen = true;
    }
    ++records;
  }
  EXPECT_GE(records, 3) << log;
  EXPECT_TRUE(verified_seen) << "no record carried alice's verified identity:\n" << log;
  EXPECT_TRUE(hostile_seen) << "the refusal did not name the identity:\n" << log;
}

TEST_F(LogRecords, TextLinesCannotBeForged) {
  std::string log = log_of_refused_client("text");
  bool escaped_seen = false;
  for (const auto& line : lines(log)) {
    EXPECT_FALSE(line.starts_with(kForgedStart)) << "forged line:\n" << log;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << "raw escape sequence: " << line;
    if (line.find("\\n" + kForgedStart + "\\x1b[31m") != std::string::npos) escaped_seen = true;
  }
  EXPECT_TRUE(escaped_seen) << "the identity was not logged escaped:\n" << log;
}

}  // namespace
}  // namespace tlsgate::e2e
