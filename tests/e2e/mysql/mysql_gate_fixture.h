// MysqlGateFixture: what the protocol=mysql end-to-end suites share. Each
// test mints a CA and the gate's certificate in a folder of its own, writes
// a gate configuration (conf_, connector `my`, policy `my`) pointing at the
// suite's MariaDB server, starts `tlsgate serve`, and runs stock `mariadb`
// clients against it on 127.0.0.1.
//
// A suite derives from it, starts its server once in SetUpTestSuite (with
// SuiteServer::start) and says which one in suite_server(). ctest runs every
// test in a process of its own, so a process starts only its suite's server.
// gtest runs the suite hooks and the tests on one thread; nothing here is
// thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/mysql/mariadb_server.h"
#include "pki/issuer.h"
#include "support/gate_process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::mysql {

inline constexpr char kAnswer[] = "SELECT CONCAT('answer ', 6*7)";

struct ClientRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

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

class MysqlGateFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The suite's server; SetUp fails the test when it did not start.
  virtual SuiteServer& suite_server() const = 0;
  MariadbServer& server() const { return *suite_server().server; }

  // Clients log in only as the MariaDB user their certificate's CN maps to.
  void use_user_map();
  // The gate's own certificate and key, issued by ca_ for `names`.
  void install_gate_certificate(const std::vector<std::string>& names);
  std::string config_text() const;
  // Starts the gate with conf_ and waits until it serves (fatal on failure).
  void start_gate();

  // The mariadb client options that insist on TLS and verify the gate's
  // certificate, host name (IP SAN 127.0.0.1) included.
  std::string verified_tls(const std::filesystem::path& ca) const;
  std::string verified_tls() const { return verified_tls(ca_file_); }
  std::string client_cert() const;
  // `mariadb OPTIONS -e SQL` against the gate, output without column names.
  ClientRun mariadb(const std::string& options, const std::string& sql) const;
  static std::string app1();

  test::TempDir tmp_;
  std::filesystem::path dir_;
  test::TestCa ca_;
  std::filesystem::path ca_file_;
  std::filesystem::path policy_dir_;
  pki::Issued gate_cert_;
  int gate_port_ = 0;
  std::map<std::string, std::string> conf_;
  std::unique_ptr<test::GateProcess> gate_;
};

// A quoted path for a shell command line.
std::string q(const std::filesystem::path& p);

}  // namespace tlsgate::e2e::mysql
