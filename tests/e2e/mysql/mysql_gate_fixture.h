// MysqlGateFixture: what the protocol=mysql end-to-end suites share. Each
// test is a test::GateTest (a CA and the gate's certificate in a folder of
// its own, conf_, start_gate()) with connector `my` and policy `my` pointing
// at the suite's MariaDB server, and runs stock `mariadb` clients against
// the gate on 127.0.0.1.
//
// A suite derives from it, starts its server once in SetUpTestSuite (with
// SuiteServer::start) and says which one in suite_server(). ctest runs every
// test in a process of its own, so a process starts only its suite's server.
// gtest runs the suite hooks and the tests on one thread; nothing here is
// thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "e2e/mysql/mariadb_server.h"
#include "support/gate_test.h"
#include "support/process.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::mysql {

inline constexpr char kAnswer[] = "SELECT CONCAT('answer ', 6*7)";

using ClientRun = test::CommandResult;  // code, out (stdout and stderr)
using test::q;

// The server of one suite: started by SetUpTestSuite, stopped by
// TearDownTestSuite; start_error says why it did not start.
struct SuiteServer {
  std::unique_ptr<MariadbServer> server;
  std::string start_error;

  // Starts the server (unless MariaDB is not installed) with the data-dir
  // template kept next to the test binary; a failure lands in start_error.
  void start(std::optional<MariadbServer::TlsFiles> tls = {});
  void stop() { server.reset(); }
};

class MysqlGateFixture : public test::GateTest {
 protected:
  MysqlGateFixture()
      : GateTest("MySQL gate test CA", std::filesystem::path("certificates") / "my") {}
  void SetUp() override;
  void TearDown() override;

  // The suite's server; SetUp fails the test when it did not start.
  virtual SuiteServer& suite_server() const = 0;
  MariadbServer& server() const { return *suite_server().server; }

  // Clients log in only as the MariaDB user their certificate's CN maps to.
  void use_user_map();
  // The gate speaks TLS to the backend (policy `up`) and trusts `ca` for it.
  void use_upstream_tls(const test::TestCa& ca);

  // The mariadb client options that insist on TLS and verify the gate's
  // certificate, host name (IP SAN 127.0.0.1) included.
  std::string verified_tls(const std::filesystem::path& ca) const;
  std::string verified_tls() const { return verified_tls(ca_file_); }
  std::string client_cert() const;
  // `mariadb OPTIONS -e SQL` against the gate, output without column names.
  ClientRun mariadb(const std::string& options, const std::string& sql) const;
  static std::string app1();
};

}  // namespace tlsgate::e2e::mysql
