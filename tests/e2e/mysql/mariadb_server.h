// MariadbServer: a private MariaDB server for the protocol=mysql end-to-end
// tests, in a temporary folder, listening on 127.0.0.1 only. TLS is off
// (the gate adds it) unless the server is given TlsFiles: then it offers TLS
// with that certificate, for the gate's own upstream TLS.
//
// Its data directory holds, besides the system tables, these accounts
// (created as root over the unix socket):
//   - app1   mysql_native_password   kApp1Password
//   - ed     ed25519                 kEdPassword    (a multi-round auth switch)
//   - admin1 mysql_native_password   kAdmin1Password
// and the database kDatabase with one table `items` (1 apple, 2 pear) that
// all three may use.
//
// mariadb-install-db takes seconds, and ctest runs every test in a process
// of its own, so a data directory is made once and kept as a template: the
// first server (in any process) makes it, shuts down cleanly and saves a
// copy in `template_dir`; later servers copy that instead. TLS is a startup
// option, so servers with and without it share the template. A lock file next
// to the template serialises processes; a stamp file (server version,
// options, setup SQL) says whether the template is current. When the
// template cannot be read or written, the server installs privately.
//
// mariadbd runs as the test's own user (as root with --user=root). Every
// step is bounded in time; a failure throws std::runtime_error with the
// server's error log. The destructor shuts the server down (SQL SHUTDOWN,
// then SIGTERM/SIGKILL after a bounded wait) and removes the folder.
//
// Not thread-safe; one instance serves a whole test suite.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::e2e::mysql {

inline constexpr char kDatabase[] = "shop";
inline constexpr char kApp1Password[] = "app1-secret";
inline constexpr char kEdPassword[] = "ed-secret";
inline constexpr char kAdmin1Password[] = "admin1-secret";

class MariadbServer {
 public:
  // PEM files for a server with TLS on (--ssl-cert, --ssl-key, --ssl-ca);
  // they must outlive the server.
  struct TlsFiles {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::filesystem::path ca;
  };

  // Whether the server, its installer and the clients are installed.
  static bool installed();

  // Starts the server, with TLS on when `tls` is given (it then checks that
  // @@have_ssl is YES, else DISABLED); throws std::runtime_error (with the
  // log) when it cannot.
  explicit MariadbServer(std::optional<std::filesystem::path> template_dir = {},
                         std::optional<TlsFiles> tls = {});
  ~MariadbServer();
  MariadbServer(const MariadbServer&) = delete;
  MariadbServer& operator=(const MariadbServer&) = delete;

  int port() const { return port_; }

  // Runs `sql` as root over the unix socket (mariadb -N -B); its output,
  // *exit_code its exit status.
  std::string root_sql(const std::string& sql, int* exit_code = nullptr) const;

  // A counter of SHOW GLOBAL STATUS (e.g. Access_denied_errors); -1 when unreadable.
  long long global_status(const std::string& name) const;

  // The server's error log so far.
  std::string error_log() const;

 private:
  void install(const std::filesystem::path& data);
  void start(const std::filesystem::path& data);
  void create_accounts();
  void stop();

  test::TempDir dir_;
  std::optional<TlsFiles> tls_;
  std::filesystem::path socket_;
  int port_ = 0;
  std::unique_ptr<test::ChildProcess> server_;
};

}  // namespace tlsgate::e2e::mysql
