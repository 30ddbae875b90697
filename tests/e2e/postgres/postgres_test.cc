// Stock psql through `tlsgate serve` (protocol=postgres) to a real
// PostgreSQL server with TLS switched off, all on 127.0.0.1.
#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "support/gate_process.h"
#include "support/loopback.h"
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
    ca_ = make_test_ca("PG CA");
    int rc = 0;
    auto out = run_command(as_pg_user(bin_ + "/initdb -D " + (dir_ / "data").string() +
                                      " -A trust -U postgres --no-sync") +
                               " 2>&1",
                           &rc);
    ASSERT_EQ(rc, 0) << out;
    // The port is free when picked, but a test running in parallel may bind
    // it before the server does: pick another then (a bounded number of times).
    const auto log = dir_ / "pg.log";
    for (int attempt = 1;; ++attempt) {
      pg_port_ = free_loopback_port();
      std::filesystem::remove(log);
      out = run_command(
          as_pg_user(bin_ + "/pg_ctl -D " + (dir_ / "data").string() + " -w -t 30 -l " +
                     log.string() + " -o \"-p " + std::to_string(pg_port_) + " -k " +
                     dir_.path().string() +
                     " -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on " +
                     server_options() + "\" start") +
              " 2>&1",
          &rc);
      if (rc == 0) break;
      std::string server_log = std::filesystem::exists(log) ? read_text(log) : "(no pg.log)";
      bool port_taken = server_log.find("already in use") != std::string::npos;
      ASSERT_TRUE(port_taken && attempt < 3) << out << "\n--- pg.log ---\n" << server_log;
    }
    started_ = true;

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

  // The backend's TLS settings: off, unless a test's fixture turns it on.
  virtual std::string server_options() { return "-c ssl=off"; }

  // Runs SQL on the backend directly over its Unix socket, as the superuser:
  // TCP connections to the backend are then only the gate's.
  std::string admin_sql(const std::string& sql) {
    int rc = -1;
    auto out = run_command(
        "psql " +
            shell_quote("host=" + dir_.path().string() + " port=" + std::to_string(pg_port_) +
                        " user=postgres dbname=postgres sslmode=disable") +
            " -Atc " + shell_quote(sql) + " 2>&1",
        &rc);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

  std::string client_cert_options() const {
    return "sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string() +
           " sslcert=" + (dir_ / "app1.crt").string() + " sslkey=" + (dir_ / "app1.key").string();
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

  // Runs one query with psql through the gate; returns its output, *rc its exit status.
  std::string psql(const std::string& conninfo, int* rc,
                   const std::string& sql = "select 'answer ' || 6*7") {
    return run_command(
        "PGCONNECT_TIMEOUT=10 psql " +
            shell_quote("host=localhost port=" + std::to_string(gate_port_) + " dbname=postgres " +
                        (conninfo.find("user=") == std::string::npos ? "user=postgres " : "") +
                        conninfo) +
            " -Atc " + shell_quote(sql) + " 2>&1",
        rc);
  }

  // Direct TLS (ALPN postgresql, no SSLRequest) to the gate, verified, then
  // a StartupMessage with `params`; what came back (at most 512 bytes, up
  // to 10 s), "" when nothing did. The client is OpenSSL itself, presenting
  // app1's certificate when `with_certificate`.
  std::string direct_tls_startup(const std::string& params, bool with_certificate = false) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(gate_port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      ADD_FAILURE() << "cannot connect to the gate";
      return "";
    }
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx, (dir_ / "ca.crt").c_str(), nullptr), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (with_certificate) {
      EXPECT_EQ(SSL_CTX_use_certificate_file(ctx, (dir_ / "app1.crt").c_str(), SSL_FILETYPE_PEM),
                1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, (dir_ / "app1.key").c_str(), SSL_FILETYPE_PEM), 1);
    }
    static const unsigned char kAlpn[] = "\x0apostgresql";
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn - 1);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "localhost");
    std::string reply;
    if (SSL_connect(ssl) == 1) {
      const unsigned char* proto = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(ssl, &proto, &len);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(proto), len), "postgresql");
      std::string startup(8, '\0');
      uint32_t length = htonl(static_cast<uint32_t>(8 + params.size()));
      uint32_t version = htonl(196608);
      std::memcpy(startup.data(), &length, 4);
      std::memcpy(startup.data() + 4, &version, 4);
      startup += params;
      EXPECT_EQ(SSL_write(ssl, startup.data(), static_cast<int>(startup.size())),
                static_cast<int>(startup.size()));
      std::array<char, 512> buf{};
      int n = SSL_read(ssl, buf.data(), static_cast<int>(buf.size()));
      if (n > 0) reply.assign(buf.data(), static_cast<size_t>(n));
    } else {
      ADD_FAILURE() << "TLS handshake with the gate failed";
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
    return reply;
  }

  // TCP connections the backend logged (log_connections): those the gate made.
  int connections_received() const {
    std::ifstream log(dir_ / "pg.log");
    std::string line;
    int received = 0;
    while (std::getline(log, line))
      received += line.find("connection received: host=127.0.0.1") != std::string::npos;
    return received;
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

TEST_F(PostgresGate, UserMapAllowsOnlyTheMappedUser) {
  admin_sql("create role app1 login");
  std::ofstream(dir_ / "users.map") << "# identity  database user\napp1 app1\n";
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=REQUIRE\nssl.policy.pg.identity_from=cn\n"
      "connector.pg.user_map=users.map\n");
  int rc = -1;
  auto out = psql(client_cert_options() + " user=app1", &rc, "select current_user");
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_EQ(out, "app1\n");

  out = psql(client_cert_options() + " user=postgres", &rc, "select current_user");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("FATAL:  tlsgate: certificate identity app1 may not log in as postgres"),
            std::string::npos)
      << out;
  EXPECT_TRUE(gate->wait_for_log("may not log in as postgres (connector.pg.user_map)"))
      << gate->log();
  // The refused attempt never reached the backend: one TCP connection, app1's.
  EXPECT_EQ(connections_received(), 1);
}

TEST_F(PostgresGate, UserMapReloadsWhenTheFileChanges) {
  admin_sql("create role app1 login");
  std::ofstream(dir_ / "users.map") << "app1 app1\n";
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=REQUIRE\nssl.policy.pg.identity_from=cn\n"
      "connector.pg.user_map=users.map\nserver.reload_settle=0.1\n");
  int rc = -1;
  auto out = psql(client_cert_options() + " user=postgres", &rc, "select current_user");
  ASSERT_NE(rc, 0) << out;
  std::ofstream(dir_ / "users.map.new") << "app1 *\nops *\n";
  std::filesystem::rename(dir_ / "users.map.new", dir_ / "users.map");
  ASSERT_TRUE(gate->wait_for_log("(2 identities)")) << gate->log();
  EXPECT_EQ(gate->log().find("(1 identities)"), std::string::npos)
      << "a reload without a change to the map was logged";
  out = psql(client_cert_options() + " user=postgres", &rc, "select current_user");
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_EQ(out, "postgres\n");
}

TEST_F(PostgresGate, BackendDownGivesTheClientAnError) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\n");
  run_command(as_pg_user(bin_ + "/pg_ctl -D " + (dir_ / "data").string() + " -m immediate stop") +
              " 2>&1");
  started_ = false;
  int rc = -1;
  auto out = psql("sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string(), &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(
      out.find("FATAL:  tlsgate: the database server is unavailable; the gate's log says why"),
      std::string::npos)
      << out;
  EXPECT_TRUE(gate->wait_for_log("cannot connect to backend 127.0.0.1:")) << gate->log();
}

TEST_F(PostgresGate, CancelRequestReachesTheBackend) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\nserver.log_level=debug\n");
  // psql answers SIGINT by sending a CancelRequest on a new connection.
  int rc = -1;
  auto out = run_command(
      "timeout -s INT 3 psql " +
          shell_quote("host=localhost port=" + std::to_string(gate_port_) +
                      " user=postgres dbname=postgres sslmode=verify-full sslrootcert=" +
                      (dir_ / "ca.crt").string()) +
          " -Atc 'select pg_sleep(30)' 2>&1",
      &rc);
  EXPECT_NE(out.find("canceling statement due to user request"), std::string::npos)
      << out << gate->log();
  EXPECT_TRUE(gate->wait_for_log("CancelRequest relayed to the backend")) << gate->log();
}

TEST_F(PostgresGate, PgbenchRunsWithoutErrors) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\n");
  std::string conn = shell_quote("host=localhost port=" + std::to_string(gate_port_) +
                                 " user=postgres dbname=postgres sslmode=verify-full sslrootcert=" +
                                 (dir_ / "ca.crt").string());
  int rc = -1;
  auto out = run_command("pgbench -i -s 1 -q " + conn + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out << gate->log();
  out = run_command("pgbench -c 8 -j 2 -T 10 " + conn + " 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_NE(out.find("number of failed transactions: 0 (0.000%)"), std::string::npos) << out;
  EXPECT_NE(out.find("number of clients: 8"), std::string::npos) << out;
}

// PostgreSQL 17's sslnegotiation=direct: a ClientHello first, with ALPN
// "postgresql", then the StartupMessage inside TLS. psql 15 cannot do it, so
// the client is OpenSSL itself.
TEST_F(PostgresGate, DirectTlsWithAlpnPostgresql) {
  auto gate = start_gate("ssl.policy.pg.client_auth=NONE\n");
  auto reply = direct_tls_startup(std::string("user\0postgres\0database\0postgres\0\0", 33));
  ASSERT_GE(reply.size(), 9U) << gate->log();
  EXPECT_EQ(reply[0], 'R') << "AuthenticationOk (trust) from the backend, through TLS";
  EXPECT_EQ(reply.substr(1, 8), std::string("\0\0\0\x08\0\0\0\0", 8));
}

// PostgreSQL logs in the last `user` of a StartupMessage that names it
// twice, user_map would have checked the first (review s23 defect 2): the
// gate answers such a message itself and the backend never sees it.
TEST_F(PostgresGate, AStartupMessageNamingTheUserTwiceIsRefusedBeforeTheBackend) {
  std::ofstream(dir_ / "users.map") << "app1 app1\n";
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=REQUIRE\nssl.policy.pg.identity_from=cn\n"
      "connector.pg.user_map=users.map\n");
  auto reply = direct_tls_startup(
      std::string("user\0app1\0database\0postgres\0user\0postgres\0\0", 43), true);
  ASSERT_FALSE(reply.empty()) << gate->log();
  EXPECT_EQ(reply[0], 'E') << reply;
  EXPECT_NE(reply.find("tlsgate: invalid startup packet: it names parameter \"user\" twice"),
            std::string::npos)
      << reply;
  EXPECT_TRUE(
      gate->wait_for_log("client's StartupMessage refused: it names parameter \"user\" "
                         "twice [reason: other]"))
      << gate->log();
  EXPECT_EQ(connections_received(), 0);
}

// The backend has TLS on: the gate sends its own SSLRequest and verifies the
// backend's certificate (connector.pg.upstream_ssl_policy).
class PostgresTlsBackend : public PostgresGate {
 protected:
  std::string server_options() override {
    auto leaf = make_leaf(ca_, {"127.0.0.1"}, true, false);
    auto tls = dir_ / "backend-tls";
    std::filesystem::create_directories(tls);
    write_cert(tls / "server.crt", leaf.cert.get());
    write_key(tls / "server.key", leaf.key.get());
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      for (const char* f : {"", "server.crt", "server.key"}) {
        EXPECT_EQ(::chown((tls / f).c_str(), pw->pw_uid, pw->pw_gid), 0);
      }
    }
    std::filesystem::permissions(tls / "server.key", std::filesystem::perms::owner_read,
                                 std::filesystem::perm_options::replace);
    return "-c ssl=on -c ssl_cert_file=" + (tls / "server.crt").string() +
           " -c ssl_key_file=" + (tls / "server.key").string();
  }
};

TEST_F(PostgresTlsBackend, GateSpeaksTlsToTheBackendToo) {
  auto up = dir_ / "certificates" / "pgup";
  std::filesystem::create_directories(up / "trusted");
  write_cert(up / "trusted" / "ca.crt", ca_.ca.cert.get());
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=NONE\n"
      "ssl.policy.pgup.enabled=true\n"
      "connector.pg.upstream_ssl_policy=pgup\n");
  int rc = -1;
  auto out = psql("sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string(), &rc,
                  "select ssl from pg_stat_ssl where pid = pg_backend_pid()");
  EXPECT_EQ(rc, 0) << out << gate->log();
  EXPECT_EQ(out, "t\n") << "the backend sees its session on TLS";
}

TEST_F(PostgresTlsBackend, BackendWithAnUntrustedCertificateIsRefused) {
  auto up = dir_ / "certificates" / "pgup";
  std::filesystem::create_directories(up / "trusted");
  auto other = make_test_ca("Other CA");
  write_cert(up / "trusted" / "ca.crt", other.ca.cert.get());
  auto gate = start_gate(
      "ssl.policy.pg.client_auth=NONE\n"
      "ssl.policy.pgup.enabled=true\n"
      "connector.pg.upstream_ssl_policy=pgup\n");
  int rc = -1;
  auto out = psql("sslmode=verify-full sslrootcert=" + (dir_ / "ca.crt").string(), &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_TRUE(gate->wait_for_log("127.0.0.1:" + std::to_string(pg_port_))) << gate->log();
}

}  // namespace
}  // namespace tlsgate::test
