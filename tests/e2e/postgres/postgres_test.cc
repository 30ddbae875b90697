// Stock psql through `tlsgate serve` (protocol=postgres) to a real
// PostgreSQL server with TLS switched off, all on 127.0.0.1.
#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/gate_process.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::test {
namespace {

std::string pg_bin_dir() {
  glob_t g{};
  std::string dir;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
    dir = std::filesystem::path(g.gl_pathv[g.gl_pathc - 1]).parent_path();
  }
  ::globfree(&g);
  return dir;
}

// PostgreSQL refuses to run as root: run its tools as `postgres` then.
std::string as_pg_user(const std::string& cmd) {
  return ::geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
}

class PostgresGate : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = pg_bin_dir();
    if (bin_.empty())
      GTEST_SKIP() << "PostgreSQL server binaries not installed (scripts/install-deps.sh test)";
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      ASSERT_NE(pw, nullptr);
      ASSERT_EQ(::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid), 0);
    }
    pg_port_ = free_loopback_port();
    int rc = 0;
    auto out = run_command(as_pg_user(bin_ + "/initdb -D " + (dir_ / "data").string() +
                                      " -A trust -U postgres --no-sync") +
                               " 2>&1",
                           &rc);
    ASSERT_EQ(rc, 0) << out;
    out = run_command(as_pg_user(bin_ + "/pg_ctl -D " + (dir_ / "data").string() + " -w -t 30 -l " +
                                 (dir_ / "pg.log").string() + " -o \"-p " +
                                 std::to_string(pg_port_) + " -k " + dir_.path().string() +
                                 " -c listen_addresses=127.0.0.1 -c ssl=off -c fsync=off\" start") +
                          " 2>&1",
                      &rc);
    ASSERT_EQ(rc, 0) << out;
    started_ = true;

    ca_ = make_test_ca("PG CA");
    auto server = make_leaf(ca_, {"localhost", "127.0.0.1"});
    auto client = make_leaf(ca_, {"app1"}, false, true);
    auto policy = dir_ / "certificates" / "pg";
    std::filesystem::create_directories(policy / "trusted");
    std::filesystem::create_directories(policy / "revoked");
    write_cert(policy / "public.crt", server.cert.get());
    write_key(policy / "private.key", server.key.get());
    write_cert(policy / "trusted" / "ca.crt", ca_.ca.cert.get());
    write_cert(dir_ / "ca.crt", ca_.ca.cert.get());
    write_cert(dir_ / "app1.crt", client.cert.get());
    write_key(dir_ / "app1.key", client.key.get());
  }

  void TearDown() override {
    if (started_) {
      run_command(
          as_pg_user(bin_ + "/pg_ctl -D " + (dir_ / "data").string() + " -m immediate stop") +
          " 2>&1");
    }
  }

  std::unique_ptr<GateProcess> start_gate(const std::string& extra) {
    gate_port_ = free_loopback_port();
    std::string conf =
        "ssl.policy.pg.enabled=true\n"
        "connector.pg.listen_address=127.0.0.1:" +
        std::to_string(gate_port_) +
        "\n"
        "connector.pg.upstream_address=127.0.0.1:" +
        std::to_string(pg_port_) +
        "\n"
        "connector.pg.protocol=postgres\n" +
        extra;
    auto gate = std::make_unique<GateProcess>(dir_.path(), conf);
    auto why = gate->wait_listening(gate_port_);
    EXPECT_EQ(why, "");
    return gate;
  }

  // Runs one query with psql; returns its output, *rc its exit status.
  std::string psql(const std::string& conninfo, int* rc) {
    return run_command("PGCONNECT_TIMEOUT=10 psql " +
                           shell_quote("host=localhost port=" + std::to_string(gate_port_) +
                                       " user=postgres dbname=postgres " + conninfo) +
                           " -Atc \"select 'answer ' || 6*7\" 2>&1",
                       rc);
  }

  TempDir dir_;
  std::string bin_;
  int pg_port_ = 0;
  int gate_port_ = 0;
  bool started_ = false;
  TestCa ca_;
};

TEST_F(PostgresGate, VerifyFullThroughTheGate) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\n");
  int rc = -1;
  auto out = psql("sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string(), &rc);
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_EQ(out, "answer 42\n");
}

TEST_F(PostgresGate, PlaintextIsRefusedInThePostgresProtocol) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\n");
  int rc = -1;
  auto out = psql("sslmode=disable", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("FATAL:  tlsgate: this server accepts only TLS connections; connect with "
                     "sslmode=require, verify-ca or verify-full"),
            std::string::npos)
      << out;
  EXPECT_TRUE(gate->wait_for_log("plaintext StartupMessage to a TLS-only port")) << gate->log();
}

TEST_F(PostgresGate, OptionalLetsPlaintextThrough) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\nconnector.pg.tls_level=OPTIONAL\n");
  int rc = -1;
  auto out = psql("sslmode=disable", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "answer 42\n");
  out = psql("sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string(), &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(PostgresGate, ClientCertificateRequired) {
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=REQUIRE\nssl.policy.pg.identity_from=cn\n"
      "ssl.policy.pg.allowed_identities=app1\n");
  std::string verify = "sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string();
  int rc = -1;
  auto out = psql(verify + " sslcert=" + (dir_ / "app1.crt").string() +
                      " sslkey=" + (dir_ / "app1.key").string(),
                  &rc);
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_EQ(out, "answer 42\n");
  out = psql(verify + " sslcert=/nonexistent sslkey=/nonexistent", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_TRUE(gate->wait_for_log("sent no certificate")) << gate->log();
}

}  // namespace
}  // namespace tlsgate::test
