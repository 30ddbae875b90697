// `tlsgate probe --starttls` against real servers: nats-server with its own
// TLS, PostgreSQL with ssl=on, MariaDB with TLS on, and tlsgate's own gate
// (protocol=postgres and protocol=mysql in front of them). Each skips when
// its server is not installed (scripts/install-deps.sh test).
#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_helpers.h"
#include "e2e/mysql/mariadb_server.h"
#include "support/gate_process.h"
#include "support/test_pki.h"

namespace tlsgate::e2e {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string pg_bin_dir() {
  glob_t g{};
  std::string dir;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
    dir = fs::path(g.gl_pathv[g.gl_pathc - 1]).parent_path();
  }
  ::globfree(&g);
  return dir;
}

// PostgreSQL refuses to run as root: its tools run as `postgres` then.
std::string as_pg_user(const std::string& cmd) {
  return ::geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
}

void give_to_postgres(const fs::path& p) {
  if (::geteuid() != 0) return;
  passwd* pw = ::getpwnam("postgres");
  ASSERT_NE(pw, nullptr);
  ASSERT_EQ(::chown(p.c_str(), pw->pw_uid, pw->pw_gid), 0) << p;
}

class ProbeServers : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    ca_ = test::make_test_ca("Servers CA");
    client_ca_ = test::make_test_ca("Clients CA");
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
    test::write_cert(path("ca.crt"), ca_.ca.cert.get());
    test::write_cert(path("client-ca.crt"), client_ca_.ca.cert.get());
    test::write_cert(path("server.crt"), leaf.cert.get());
    test::write_key(path("server.key"), leaf.key.get());
    auto client = test::make_leaf(client_ca_, {"app1"}, false, true);
    test::write_cert(path("app1.crt"), client.cert.get());
    test::write_key(path("app1.key"), client.key.get());
  }

  void TearDown() override {
    if (pg_started_) {
      test::run_command(as_pg_user(pg_bin_ + "/pg_ctl -D " + (dir_ / "pg" / "data").string() +
                                   " -m immediate stop") +
                        " 2>&1");
    }
  }

  // A private PostgreSQL with ssl=on and the leaf above; its port.
  int start_postgres() {
    pg_bin_ = pg_bin_dir();
    if (pg_bin_.empty()) return 0;
    auto pg = dir_ / "pg";
    fs::create_directories(pg);
    give_to_postgres(dir_);  // 0700: postgres must reach its folder inside
    give_to_postgres(pg);
    fs::copy_file(path("server.crt"), pg / "server.crt");
    fs::copy_file(path("server.key"), pg / "server.key");
    give_to_postgres(pg / "server.crt");
    give_to_postgres(pg / "server.key");
    fs::permissions(pg / "server.key", fs::perms::owner_read, fs::perm_options::replace);
    int port = free_loopback_port();
    int rc = -1;
    auto out = test::run_command(as_pg_user(pg_bin_ + "/initdb -D " + (pg / "data").string() +
                                            " -A trust -U postgres --no-sync") +
                                     " 2>&1",
                                 &rc);
    EXPECT_EQ(rc, 0) << out;
    out = test::run_command(
        as_pg_user(pg_bin_ + "/pg_ctl -D " + (pg / "data").string() + " -w -t 30 -l " +
                   (pg / "pg.log").string() + " -o \"-p " + std::to_string(port) + " -k " +
                   pg.string() + " -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on" +
                   " -c ssl_cert_file=" + (pg / "server.crt").string() +
                   " -c ssl_key_file=" + (pg / "server.key").string() + "\" start") +
            " 2>&1",
        &rc);
    EXPECT_EQ(rc, 0) << out;
    pg_started_ = rc == 0;
    return rc == 0 ? port : -1;
  }

  // The gate with one connector `db` of `protocol` in front of 127.0.0.1:upstream,
  // using the leaf above; its port.
  std::unique_ptr<test::GateProcess> start_gate(const std::string& protocol, int upstream,
                                                int* port, const std::string& extra = "") {
    auto policy = dir_ / "certificates" / "db";
    fs::create_directories(policy / "trusted");
    fs::create_directories(policy / "revoked");
    fs::copy_file(path("server.crt"), policy / "public.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(path("server.key"), policy / "private.key", fs::copy_options::overwrite_existing);
    fs::copy_file(path("client-ca.crt"), policy / "trusted" / "ca.crt",
                  fs::copy_options::overwrite_existing);
    *port = free_loopback_port();
    std::string conf =
        "ssl.policy.db.enabled=true\n"
        "connector.db.listen_address=127.0.0.1:" +
        std::to_string(*port) +
        "\n"
        "connector.db.upstream_address=127.0.0.1:" +
        std::to_string(upstream) + "\nconnector.db.protocol=" + protocol + "\n" + extra;
    auto gate = std::make_unique<test::GateProcess>(dir_, conf);
    EXPECT_EQ(gate->wait_listening(*port), "");
    return gate;
  }

  json probe_json(const std::string& args, int expect_code = 0) {
    Proc r = tg("probe " + args + " --json");
    EXPECT_EQ(r.code, expect_code) << describe(r);
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << describe(r);
      return json::object();
    }
  }

  test::TestCa ca_, client_ca_;
  std::string pg_bin_;
  bool pg_started_ = false;
};

// nats-server with TLS: INFO in plaintext, then TLS.
class NatsServer {
 public:
  NatsServer(const fs::path& dir, std::vector<std::string> extra) {
    port_ = free_loopback_port();
    std::vector<std::string> argv = {"nats-server",
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "--tlscert",
                                     (dir / "server.crt").string(),
                                     "--tlskey",
                                     (dir / "server.key").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<test::ChildProcess>(argv, test::ChildProcess::Options{});
  }
  static bool installed() { return test::run_shell("command -v nats-server").code == 0; }
  bool ready() { return child_->wait_for_port(port_, test::Millis(10000)); }
  int port() const { return port_; }
  std::string output() const { return child_->output(); }

 private:
  int port_ = 0;
  std::unique_ptr<test::ChildProcess> child_;
};

TEST_F(ProbeServers, NatsServerWithTls) {
  if (!NatsServer::installed()) GTEST_SKIP() << "nats-server not installed";
  NatsServer nats(dir_, {"--tls"});
  ASSERT_TRUE(nats.ready()) << nats.output();
  std::string target = "localhost:" + std::to_string(nats.port());
  json doc = probe_json(target + " --starttls nats --ca ca.crt");
  EXPECT_EQ(doc["verified"], true) << doc.dump(2);
  EXPECT_EQ(doc["starttls"]["protocol"], "nats");
  EXPECT_EQ(doc["starttls"]["facts"]["tls_required"], "true");
  EXPECT_EQ(doc["starttls"]["facts"]["tls_verify"], "false");
  EXPECT_FALSE(doc["starttls"]["facts"]["version"].get<std::string>().empty());
  EXPECT_EQ(doc["client_certificate"]["requested"], false);

  Proc text = tg("probe " + target + " --starttls nats --ca ca.crt");
  EXPECT_EQ(text.code, 0) << describe(text);
  EXPECT_THAT(text.out, HasSubstr("before TLS:         nats: server_id="));
  EXPECT_THAT(text.out, HasSubstr("tls_required=true"));
}

TEST_F(ProbeServers, NatsServerVerifyingClients) {
  if (!NatsServer::installed()) GTEST_SKIP() << "nats-server not installed";
  NatsServer nats(dir_, {"--tlsverify", "--tlscacert", path("client-ca.crt").string()});
  ASSERT_TRUE(nats.ready()) << nats.output();
  std::string target = "127.0.0.1:" + std::to_string(nats.port());
  json doc = probe_json(target + " --starttls nats --ca ca.crt --cert app1.crt --key app1.key");
  EXPECT_EQ(doc["starttls"]["facts"]["tls_verify"], "true");
  EXPECT_EQ(doc["client_certificate"]["requested"], true);
  EXPECT_EQ(doc["client_certificate"]["sent"], true);
  EXPECT_EQ(doc["client_certificate"]["ca_names"], json::array({"CN=Clients CA,O=tlsgate"}));
}

TEST_F(ProbeServers, NatsServerWithoutTlsFailsAtStarttls) {
  if (!NatsServer::installed()) GTEST_SKIP() << "nats-server not installed";
  int port = free_loopback_port();
  test::ChildProcess plain({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port)}, {});
  ASSERT_TRUE(plain.wait_for_port(port, test::Millis(10000))) << plain.output();
  Proc r = tg("probe 127.0.0.1:" + std::to_string(port) + " --starttls nats");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("failed at starttls [other]: 127.0.0.1:" + std::to_string(port) +
                               " (nats): the NATS server offers no TLS"));
}

TEST_F(ProbeServers, TheGatesNatsConnectorInFrontOfAPlainNatsServer) {
  if (!NatsServer::installed()) GTEST_SKIP() << "nats-server not installed";
  int backend = free_loopback_port();
  test::ChildProcess plain({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(backend)}, {});
  ASSERT_TRUE(plain.wait_for_port(backend, test::Millis(10000))) << plain.output();
  int port = 0;
  auto gate = start_gate("nats", backend, &port);
  json doc = probe_json("localhost:" + std::to_string(port) + " --starttls nats --ca ca.crt");
  EXPECT_EQ(doc["verified"], true) << doc.dump(2) << gate->log();
  EXPECT_EQ(doc["starttls"]["protocol"], "nats");
  // The gate's INFO: the backend's, with TLS required by the gate.
  EXPECT_EQ(doc["starttls"]["facts"]["tls_required"], "true") << doc["starttls"].dump(2);
  EXPECT_FALSE(doc["starttls"]["facts"]["version"].get<std::string>().empty());
  EXPECT_EQ(doc["client_certificate"]["requested"], true);
}

TEST_F(ProbeServers, TheGateWithItsBackendDownStillVerifies) {
  // The gate finishes the handshake, then closes (no backend to connect
  // to) without close_notify: that is no handshake failure, and the TLS
  // side is fine (it read "failed at handshake", exit 1, before).
  int dead = free_loopback_port();
  int port = 0;
  auto gate = start_gate("tcp", dead, &port);
  json doc = probe_json("localhost:" + std::to_string(port) + " --ca ca.crt");
  EXPECT_EQ(doc["verified"], true) << doc.dump(2) << gate->log();
  EXPECT_EQ(doc["failure"], nullptr) << doc.dump(2);
  EXPECT_EQ(doc["tls"]["version"], "TLSv1.3");
}

TEST_F(ProbeServers, PostgresWithSslOnAndTheGateInFrontOfIt) {
  int pg = start_postgres();
  if (pg == 0) GTEST_SKIP() << "PostgreSQL server binaries not installed";
  ASSERT_GT(pg, 0);
  json direct = probe_json("127.0.0.1:" + std::to_string(pg) + " --starttls postgres --ca ca.crt");
  EXPECT_EQ(direct["verified"], true) << direct.dump(2);
  EXPECT_EQ(direct["starttls"]["facts"]["reply"], "S");
  EXPECT_EQ(direct["tls"]["version"], "TLSv1.3");

  int port = 0;
  auto gate = start_gate("postgres", pg, &port);
  json through =
      probe_json("localhost:" + std::to_string(port) + " --starttls postgres --ca ca.crt");
  EXPECT_EQ(through["verified"], true) << through.dump(2) << gate->log();
  EXPECT_EQ(through["starttls"]["facts"]["reply"], "S");
  // The gate's policy asks for client certificates (client_auth OPTIONAL) from its trusted CA.
  EXPECT_EQ(through["client_certificate"]["requested"], true);
  EXPECT_EQ(through["client_certificate"]["ca_names"], json::array({"CN=Clients CA,O=tlsgate"}));
  EXPECT_EQ(through["resumption"]["resumed"], true) << through["resumption"].dump();
}

TEST_F(ProbeServers, GateDefaultPolicyHasNoFindingsAndCbcSuitesAreFound) {
  int pg = start_postgres();
  if (pg == 0) GTEST_SKIP() << "PostgreSQL server binaries not installed";
  ASSERT_GT(pg, 0);
  int port = 0;
  {
    auto gate = start_gate("postgres", pg, &port);
    json doc = probe_json("localhost:" + std::to_string(port) +
                          " --starttls postgres --ca ca.crt --enumerate");
    EXPECT_EQ(doc["enumeration"]["findings"], json::array()) << doc["enumeration"].dump(2);
    gate->terminate();
  }
  auto gate = start_gate("postgres", pg, &port,
                         "ssl.policy.db.ciphers=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                         "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,TLS_AES_128_GCM_SHA256\n");
  json doc = probe_json("localhost:" + std::to_string(port) +
                        " --starttls postgres --ca ca.crt --enumerate");
  std::string all = doc["enumeration"]["findings"].dump();
  EXPECT_THAT(all, HasSubstr("CBC (non-AEAD) suites accepted: "
                             "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"))
      << doc["enumeration"].dump(2) << gate->log();
}

TEST_F(ProbeServers, MariadbWithTlsAndTheGateInFrontOfIt) {
  if (!mysql::MariadbServer::installed()) GTEST_SKIP() << "MariaDB not installed";
  std::unique_ptr<mysql::MariadbServer> db;
  try {
    db = std::make_unique<mysql::MariadbServer>(
        fs::read_symlink("/proc/self/exe").parent_path() / "mariadb-template",
        mysql::MariadbServer::TlsFiles{
            .cert = path("server.crt"), .key = path("server.key"), .ca = path("ca.crt")});
  } catch (const std::exception& e) {
    FAIL() << "MariaDB did not start: " << e.what();
  }
  json direct =
      probe_json("127.0.0.1:" + std::to_string(db->port()) + " --starttls mysql --ca ca.crt");
  EXPECT_EQ(direct["verified"], true) << direct.dump(2);
  const json& facts = direct["starttls"]["facts"];
  EXPECT_EQ(facts["protocol_version"], "10");
  EXPECT_THAT(facts["server_version"].get<std::string>(), HasSubstr("MariaDB"));
  EXPECT_EQ(facts["client_ssl_offered"], "true");

  int port = 0;
  auto gate = start_gate("mysql", db->port(), &port);
  json through = probe_json("127.0.0.1:" + std::to_string(port) + " --starttls mysql --ca ca.crt");
  EXPECT_EQ(through["verified"], true) << through.dump(2) << gate->log();
  EXPECT_EQ(through["starttls"]["facts"]["client_ssl_offered"], "true");
  EXPECT_THAT(through["starttls"]["facts"]["server_version"].get<std::string>(),
              HasSubstr("MariaDB"));
}

}  // namespace
}  // namespace tlsgate::e2e
