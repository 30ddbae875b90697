// The gate's view of itself for the admin layer (issue 14), on an in-process
// net::Gate in front of an echo backend: status() counts failures by reason,
// handshakes by version and bytes exactly; connections() lists established
// clients and close_connection() closes one; reload(done) tells what it did.
#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/gate/tls_client.h"
#include "net/gate.h"
#include "pki/certificate_info.h"
#include "support/echo_server.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "unit/net/in_process_gate.h"

namespace tlsgate::e2e::gate {
namespace {

using namespace std::chrono_literals;
using net::test_gate::wait_until;

// The value a done callback of the gate was called with, waited for up to 10 s.
template <typename T>
class Answer {
 public:
  std::function<void(T)> callback() {
    return [p = promise_](T value) { p->set_value(std::move(value)); };
  }
  ::testing::AssertionResult wait(T& out) {
    auto f = promise_->get_future();
    if (f.wait_for(10s) != std::future_status::ready) {
      return ::testing::AssertionFailure() << "the gate never answered";
    }
    out = f.get();
    return ::testing::AssertionSuccess();
  }

 private:
  std::shared_ptr<std::promise<T>> promise_ = std::make_shared<std::promise<T>>();
};

class GateStatus : public ::testing::Test {
 protected:
  void SetUp() override {
    // Clients of their own CA, trusted beside the gate's.
    clients_ca_ = test::make_test_ca("status clients CA");
    test::write_cert(gate_.dir() / "certs/gate/trusted/clients.crt", clients_ca_.ca.cert.get());
    gate_.set("server.worker_threads", "2");
    gate_.set("ssl.policy.gate.client_auth", "REQUIRE");
    gate_.set("ssl.policy.gate.identity_from", "cn");
    gate_.set("ssl.policy.gate.tls_versions", "TLSv1.3");
    gate_.set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()));
    ASSERT_TRUE(gate_.create());
    ASSERT_TRUE(gate_.start());
  }

  TlsClientOptions client(const std::string& name, const test::TestCa& ca) {
    auto issued = test::make_leaf(ca, {name}, false, true);
    TlsClientOptions o;
    o.ca_file = gate_.ca_file();
    o.cert_file = gate_.dir() / (name + ".crt");
    o.key_file = gate_.dir() / (name + ".key");
    test::write_cert(o.cert_file, issued.cert.get());
    test::write_key(o.key_file, issued.key.get());
    return o;
  }

  net::ConnectorStatus connector() { return gate_.gate()->status().connectors.at(0); }

  test::EchoServer echo_;
  net::test_gate::InProcessGate gate_;
  test::TestCa clients_ca_;
};

TEST_F(GateStatus, CountsFailuresByReasonHandshakesByVersionAndBytesExactly) {
  auto before = gate_.gate()->status();
  ASSERT_EQ(before.connectors.size(), 1u);
  EXPECT_EQ(before.connectors[0].name, "db");
  EXPECT_EQ(before.workers, 2u);
  EXPECT_EQ(before.connectors[0].handshake_failures.size(), tls::kFailureReasonCount);
  EXPECT_EQ(before.connectors[0].handshake_failures.at("unknown_ca"), 0u);

  auto stranger_ca = test::make_test_ca("stranger CA");
  EXPECT_TRUE(refused(gate_.port(), client("mallory", stranger_ca)));
  ASSERT_TRUE(wait_until([&] { return connector().handshake_failures.at("unknown_ca") >= 1; }));

  TlsClient good;
  ASSERT_EQ(good.connect(gate_.port(), client("alice", clients_ca_)), "");
  const std::string payload(3000, 'x');
  ASSERT_TRUE(good.echoes(payload));
  ASSERT_TRUE(wait_until([&] {
    auto c = connector();
    return c.bytes_from_clients == payload.size() && c.bytes_to_clients == payload.size();
  })) << connector().bytes_from_clients
      << " / " << connector().bytes_to_clients;

  auto status = gate_.gate()->status();
  const auto& c = status.connectors.at(0);
  uint64_t failures = 0;
  for (const auto& [reason, n] : c.handshake_failures) failures += n;
  EXPECT_EQ(c.handshake_failures.at("unknown_ca"), 1u);
  EXPECT_EQ(failures, 1u) << "one refused client, one reason";
  EXPECT_EQ(c.handshakes.at({"TLSv1.3", false}), 1u);
  EXPECT_EQ(c.handshakes.size(), 1u);
  EXPECT_EQ(c.bytes_from_clients, payload.size());
  EXPECT_EQ(c.bytes_to_clients, payload.size());
  EXPECT_EQ(c.accepted, 3u) << "the start probe, mallory and alice";
  EXPECT_EQ(c.upstream_failures.at("connect_failed"), 0u);

  // The failure is in this minute's history (or the last one's, at a turn).
  ASSERT_FALSE(status.failures.empty());
  uint64_t in_history = 0;
  for (const auto& m : status.failures) {
    if (auto it = m.by_reason.find("unknown_ca"); it != m.by_reason.end()) in_history += it->second;
  }
  EXPECT_EQ(in_history, 1u);
  EXPECT_LE(status.failures.size(), 60u);

  // The policy in use, with the context it serves and the trusted CAs.
  ASSERT_EQ(status.policies.size(), 1u);
  EXPECT_EQ(status.policies[0].scope, "gate");
  EXPECT_EQ(status.policies[0].connectors, std::vector<std::string>{"db"});
  ASSERT_TRUE(status.policies[0].context);
  ASSERT_TRUE(status.policies[0].context->certificate);
  EXPECT_EQ(status.policies[0].context->trusted.size(), 2u);
}

TEST_F(GateStatus, ListsEstablishedConnectionsAndClosesOne) {
  TlsClient alice, bob;
  ASSERT_EQ(alice.connect(gate_.port(), client("alice", clients_ca_)), "");
  ASSERT_TRUE(alice.echoes("from alice\n"));
  ASSERT_EQ(bob.connect(gate_.port(), client("bob", clients_ca_)), "");
  ASSERT_TRUE(bob.echoes("bob\n"));

  std::vector<net::ConnectionInfo> list;
  Answer<std::vector<net::ConnectionInfo>> listed;
  gate_.gate()->connections("", 100, listed.callback());
  ASSERT_TRUE(listed.wait(list));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].identity, "alice") << "oldest first";
  EXPECT_EQ(list[1].identity, "bob");
  for (const auto& c : list) {
    EXPECT_EQ(c.connector, "db");
    EXPECT_EQ(c.tls_version, "TLSv1.3");
    EXPECT_FALSE(c.cipher.empty());
    EXPECT_FALSE(c.resumed);
    EXPECT_NE(c.client.find("127.0.0.1:"), std::string::npos) << c.client;
  }
  EXPECT_EQ(list[0].client, "127.0.0.1:" + std::to_string(alice.local_port()));
  EXPECT_EQ(list[0].bytes_from_client, 11u);
  EXPECT_EQ(list[0].bytes_to_client, 11u);
  EXPECT_NE(list[0].id, list[1].id);

  Answer<std::vector<net::ConnectionInfo>> other_connector;
  gate_.gate()->connections("nope", 100, other_connector.callback());
  std::vector<net::ConnectionInfo> none;
  ASSERT_TRUE(other_connector.wait(none));
  EXPECT_TRUE(none.empty());

  Answer<std::vector<net::ConnectionInfo>> limited;
  gate_.gate()->connections("db", 1, limited.callback());
  std::vector<net::ConnectionInfo> one;
  ASSERT_TRUE(limited.wait(one));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].identity, "alice");

  bool found = false;
  Answer<bool> closed;
  gate_.gate()->close_connection(list[0].id, "the test", closed.callback());
  ASSERT_TRUE(closed.wait(found));
  EXPECT_TRUE(found);
  auto r = alice.read(1, Millis(5000));
  EXPECT_TRUE(r.end == End::kClosed || r.end == End::kCloseNotify) << to_string(r.end);
  EXPECT_TRUE(bob.echoes("bob is still here\n"));

  Answer<bool> again;
  gate_.gate()->close_connection(list[0].id, "the test", again.callback());
  ASSERT_TRUE(again.wait(found));
  EXPECT_FALSE(found) << "closed already";

  Answer<std::vector<net::ConnectionInfo>> after;
  gate_.gate()->connections("", 100, after.callback());
  ASSERT_TRUE(after.wait(list));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].identity, "bob");
}

TEST_F(GateStatus, ReloadTellsWhatItDidAndKeepsTheHistory) {
  // A new certificate for the gate, from the clients' CA (also trusted).
  auto renewed = test::make_leaf(clients_ca_, {"localhost", "127.0.0.1"});
  const std::string serial =
      pki::describe(renewed.cert.get(), util::SystemClock::instance()).serial_hex;
  test::write_key(gate_.dir() / "certs/gate/private.key", renewed.key.get());
  test::write_cert(gate_.dir() / "certs/gate/public.crt", renewed.cert.get());

  net::ReloadOutcome outcome;
  Answer<net::ReloadOutcome> reloaded;
  gate_.gate()->reload(reloaded.callback());
  ASSERT_TRUE(reloaded.wait(outcome));
  EXPECT_TRUE(outcome.config_ok);
  EXPECT_TRUE(outcome.config_errors.empty());
  ASSERT_EQ(outcome.reports.size(), 1u);
  EXPECT_EQ(outcome.reports[0].scope, "gate");
  EXPECT_TRUE(outcome.reports[0].ok) << outcome.reports[0].error;
  EXPECT_TRUE(outcome.reports[0].changed);
  EXPECT_EQ(outcome.reports[0].new_serial, serial);

  auto status = gate_.gate()->status();
  ASSERT_TRUE(status.last_config_reload.has_value());
  EXPECT_EQ(status.last_config_reload_error, "");
  ASSERT_FALSE(status.reloads.empty());
  EXPECT_EQ(status.reloads.back().scope, "gate");
  EXPECT_EQ(status.reloads.back().new_serial, serial);
  EXPECT_TRUE(status.reloads.back().ok);
  EXPECT_EQ(status.policies.at(0).context->certificate->serial_hex, serial);

  // One policy now, as after an upload through the API.
  Answer<net::ReloadOutcome> one_policy;
  gate_.gate()->reload_policy("gate", one_policy.callback());
  ASSERT_TRUE(one_policy.wait(outcome));
  EXPECT_TRUE(outcome.config_ok);
  ASSERT_EQ(outcome.reports.size(), 1u);
  EXPECT_EQ(outcome.reports[0].old_serial, serial);
  Answer<net::ReloadOutcome> unknown_policy;
  gate_.gate()->reload_policy("nope", unknown_policy.callback());
  ASSERT_TRUE(unknown_policy.wait(outcome));
  EXPECT_FALSE(outcome.config_ok);
  EXPECT_TRUE(outcome.reports.empty());

  // A broken config file: nothing rebuilt, the line that says why.
  auto conf = gate_.dir() / "tlsgate.conf";
  std::ifstream in(conf);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  test::write_text(conf, text + "ssl.policy.gate.client_auht=REQUIRE\n");
  Answer<net::ReloadOutcome> broken;
  gate_.gate()->reload(broken.callback());
  ASSERT_TRUE(broken.wait(outcome));
  EXPECT_FALSE(outcome.config_ok);
  ASSERT_FALSE(outcome.config_errors.empty());
  EXPECT_NE(outcome.config_errors[0].find("client_auht"), std::string::npos)
      << outcome.config_errors[0];
  EXPECT_NE(outcome.config_errors[0].find("tlsgate.conf:"), std::string::npos)
      << outcome.config_errors[0];
  EXPECT_TRUE(outcome.reports.empty());
  status = gate_.gate()->status();
  EXPECT_NE(status.last_config_reload_error.find("client_auht"), std::string::npos);
}

TEST_F(GateStatus, CountsRevalidationClosesByReason) {
  TlsClient alice, bob;
  ASSERT_EQ(alice.connect(gate_.port(), client("alice", clients_ca_)), "");
  ASSERT_TRUE(alice.echoes("a\n"));
  ASSERT_EQ(bob.connect(gate_.port(), client("bob", clients_ca_)), "");
  ASSERT_TRUE(bob.echoes("b\n"));

  // Only bob may stay: alice's connection is closed by re-validation.
  auto conf = gate_.dir() / "tlsgate.conf";
  std::ifstream in(conf);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  test::write_text(conf, text + "ssl.policy.gate.allowed_identities=bob\n");
  net::ReloadOutcome outcome;
  Answer<net::ReloadOutcome> reloaded;
  gate_.gate()->reload(reloaded.callback());
  ASSERT_TRUE(reloaded.wait(outcome));
  ASSERT_TRUE(outcome.config_ok);

  ASSERT_TRUE(
      wait_until([&] { return connector().revalidation_closed.at("policy_changed") == 1; }));
  auto r = alice.read(1, Millis(5000));
  EXPECT_TRUE(r.end == End::kClosed || r.end == End::kCloseNotify) << to_string(r.end);
  EXPECT_TRUE(bob.echoes("bob stays\n"));
  auto c = connector();
  EXPECT_EQ(c.revalidation_closed.at("revoked"), 0u);
  EXPECT_EQ(c.revalidation_closed.at("expired"), 0u);
  EXPECT_EQ(c.revalidation_closed.at("user_map_changed"), 0u);
  EXPECT_EQ(c.revalidation_closed.size(), 4u);
}

// A backend that is down and a plaintext client, each under its reason.
TEST(GateFailureReasons, BackendDownAndPlaintextClient) {
  net::test_gate::InProcessGate gate;
  const int dead = test::free_loopback_port();  // nothing listens there
  gate.set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(dead));
  ASSERT_TRUE(gate.create());
  ASSERT_TRUE(gate.start());
  auto connector = [&] { return gate.gate()->status().connectors.at(0); };

  TlsClientOptions o;
  o.ca_file = gate.ca_file();
  EXPECT_TRUE(refused(gate.port(), o));
  ASSERT_TRUE(wait_until([&] { return connector().upstream_failures.at("connect_failed") == 1; }));
  EXPECT_TRUE(net::test_gate::closed_after_sending(gate.port(), "PING\r\n"));
  ASSERT_TRUE(
      wait_until([&] { return connector().handshake_failures.at("plaintext_refused") == 1; }));

  auto c = connector();
  EXPECT_EQ(c.handshakes.at({"TLSv1.3", false}), 1u) << "the TLS client's handshake completed";
  uint64_t failures = 0, upstream = 0;
  for (const auto& [reason, n] : c.handshake_failures) failures += n;
  for (const auto& [reason, n] : c.upstream_failures) upstream += n;
  EXPECT_EQ(failures, 1u);
  EXPECT_EQ(upstream, 1u);
  EXPECT_EQ(c.bytes_from_clients, 0u);
}

// admin.ssl_policy's context comes from the same registry as the
// connectors' (one entry per policy and side, so it reloads like them).
TEST(GateAdminContext, IsTheRegistrysEntryOfAdminSslPolicy) {
  const std::string backend = "127.0.0.1:1";  // never dialled: nothing connects
  net::test_gate::InProcessGate gate;
  gate.set("connector.db.upstream_address", backend);
  ASSERT_TRUE(gate.create());
  EXPECT_EQ(gate.gate()->admin_context(), nullptr) << "admin.enabled is false";

  net::test_gate::InProcessGate with_admin;
  with_admin.set("connector.db.upstream_address", backend);
  with_admin.set("admin.enabled", "true");
  with_admin.set("admin.ssl_policy", "gate");
  // The admin API knows its callers only by their certificates (a config error otherwise).
  with_admin.set("ssl.policy.gate.client_auth", "REQUIRE");
  with_admin.set("admin.allowed_identities", "ops");
  ASSERT_TRUE(with_admin.create());
  auto admin = with_admin.gate()->admin_context();
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin, with_admin.gate()->connectors().front()->client_side);
  EXPECT_EQ(admin->get()->policy.scope, "gate");

  // A policy the config does not define (the config's own checks catch it
  // first; the gate names the key too).
  auto loaded = config::load_config(with_admin.dir() / "tlsgate.conf", {});
  ASSERT_TRUE(loaded.ok());
  auto config = *loaded.config;
  config.admin.ssl_policy = "nope";
  auto refused = net::Gate::create(config, {.expand_commands = false, .handle_signals = false});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("admin.ssl_policy"), std::string::npos)
      << refused.error().message();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
