#include "e2e/mysql/mariadb_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "support/loopback.h"
#include "support/process.h"

namespace tlsgate::e2e::mysql {
namespace {

namespace fs = std::filesystem;
using test::Millis;
using Clock = std::chrono::steady_clock;

constexpr char kServer[] = "/usr/sbin/mariadbd";

// Settings that make a throwaway server start and stop fast; the data dies
// with the test, so durability is switched off.
std::vector<std::string> speed_options() {
  return {"--skip-name-resolve",
          "--skip-log-bin",
          "--innodb-buffer-pool-size=16M",
          "--innodb-log-file-size=4M",
          "--innodb-flush-method=nosync",
          "--innodb-doublewrite=0",
          "--innodb-flush-log-at-trx-commit=0"};
}

// mariadbd refuses to run as root unless told to.
std::vector<std::string> user_option() {
  if (::geteuid() == 0) return {"--user=root"};
  return {};
}

std::string setup_sql() {
  const std::string db = kDatabase;
  return std::string("INSTALL SONAME 'auth_ed25519';") +
         "CREATE USER app1@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('" +
         kApp1Password + "');" + "CREATE USER ed@'%' IDENTIFIED VIA ed25519 USING PASSWORD('" +
         kEdPassword + "');" + "CREATE USER admin1@'%' IDENTIFIED BY '" + kAdmin1Password + "';" +
         "CREATE DATABASE " + db + ";" + "CREATE TABLE " + db +
         ".items (id INT PRIMARY KEY, name VARCHAR(40));" + "INSERT INTO " + db +
         ".items VALUES (1, 'apple'), (2, 'pear');" + "GRANT ALL ON " + db +
         ".* TO app1@'%', ed@'%', admin1@'%';";
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// The file's content; "" when there is none.
std::string read_file(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec) ? test::read_text(path) : std::string();
}

// What a template data directory was made from; a template with another
// stamp is stale.
std::string template_stamp() {
  std::vector<std::string> options = user_option();
  append(options, speed_options());
  return "tlsgate mariadb template 1\n" + test::run_command(std::string(kServer) + " --version") +
         test::shell_join(options) + "\n" + setup_sql() + "\n";
}

// One connect to the unix socket at path, closed at once; true when accepted.
bool unix_socket_accepts(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.string().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

fs::path stamp_file(const fs::path& template_dir) { return template_dir.string() + ".stamp"; }

// An exclusive flock(2) on `path`, waited for up to `deadline`; released on
// destruction. held() is false when the file cannot be opened or the wait
// ran out.
class FileLock {
 public:
  FileLock(const fs::path& path, Millis deadline) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    auto until = Clock::now() + deadline;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if ((errno != EWOULDBLOCK && errno != EINTR) || Clock::now() >= until) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
      ::poll(nullptr, 0, 50);
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

bool copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (!ec) return true;
  fs::remove_all(to, ec);
  return false;
}

// Saves a cleanly shut down data directory as the template; the stamp goes
// last, so a template without one is never used.
void save_template(const fs::path& data, const fs::path& template_dir, const std::string& stamp) {
  std::error_code ec;
  fs::remove(stamp_file(template_dir), ec);
  fs::path fresh = template_dir.string() + ".new";
  if (!copy_tree(data, fresh)) return;
  fs::remove_all(template_dir, ec);
  fs::rename(fresh, template_dir, ec);
  if (ec) {
    fs::remove_all(fresh, ec);
    return;
  }
  try {
    test::write_text(stamp_file(template_dir), stamp);
  } catch (const std::exception&) {
    fs::remove(stamp_file(template_dir), ec);
  }
}

}  // namespace

bool MariadbServer::installed() {
  int rc = -1;
  test::run_command("command -v mariadb-install-db mariadb >/dev/null", &rc);
  return rc == 0 && ::access(kServer, X_OK) == 0;
}

MariadbServer::MariadbServer(std::optional<fs::path> template_dir, std::optional<TlsFiles> tls)
    : tls_(std::move(tls)), socket_(dir_ / "mysqld.sock") {
  // sockaddr_un holds 108 bytes with the terminating NUL.
  if (socket_.string().size() > 100)
    throw std::runtime_error("socket path too long for a unix socket: " + socket_.string());
  const fs::path data = dir_ / "data";
  std::optional<FileLock> lock;
  std::string stamp;
  if (template_dir) {
    // Another process may be making the template right now: that takes a
    // few seconds, more on a busy machine.
    lock.emplace(template_dir->string() + ".lock", Millis(120000));
    stamp = template_stamp();
    if (lock->held() && read_file(stamp_file(*template_dir)) == stamp &&
        copy_tree(*template_dir, data)) {
      lock.reset();
      start(data);
      return;
    }
  }
  install(data);
  start(data);
  create_accounts();
  if (lock && lock->held()) {
    stop();
    save_template(data, *template_dir, stamp);
    lock.reset();
    start(data);
  }
}

MariadbServer::~MariadbServer() { stop(); }

void MariadbServer::install(const fs::path& data) {
  std::vector<std::string> argv = {"timeout",
                                   "60",
                                   "mariadb-install-db",
                                   "--no-defaults",
                                   "--datadir=" + data.string(),
                                   "--auth-root-authentication-method=normal",
                                   "--skip-test-db"};
  append(argv, user_option());
  append(argv, speed_options());
  int rc = -1;
  auto out = test::run_command(test::shell_join(argv) + " 2>&1", &rc);
  if (rc != 0)
    throw std::runtime_error("mariadb-install-db failed (" + std::to_string(rc) + "):\n" + out);
}

void MariadbServer::start(const fs::path& data) {
  port_ = test::free_loopback_port();
  std::vector<std::string> argv = {kServer, "--no-defaults"};
  append(argv, user_option());
  append(argv, speed_options());
  append(argv, {"--datadir=" + data.string(), "--socket=" + socket_.string(),
                "--pid-file=" + (dir_ / "mysqld.pid").string(),
                "--log-error=" + (dir_ / "error.log").string(), "--port=" + std::to_string(port_),
                "--bind-address=127.0.0.1", "--skip-networking=0"});
  if (tls_) {
    append(argv, {"--ssl-cert=" + tls_->cert.string(), "--ssl-key=" + tls_->key.string(),
                  "--ssl-ca=" + tls_->ca.string()});
  } else {
    argv.emplace_back("--skip-ssl");
  }
  server_ = std::make_unique<test::ChildProcess>(
      argv, test::ChildProcess::Options{.output_file = dir_ / "mariadbd.out"});
  // The TCP listener opens once the server is ready (no waiting if it exits).
  if (!server_->wait_for_port(port_, Millis(30000))) {
    throw std::runtime_error("mariadbd did not listen on 127.0.0.1:" + std::to_string(port_) +
                             " within 30 s:\n" + server_->output() + error_log());
  }
  // root comes in over the unix socket, which mariadbd makes just after the
  // TCP listener: wait for it too.
  auto until = Clock::now() + Millis(30000);
  while (!unix_socket_accepts(socket_)) {
    if (!server_->running() || Clock::now() >= until) {
      throw std::runtime_error("mariadbd did not accept on " + socket_.string() + ":\n" +
                               server_->output() + error_log());
    }
    ::poll(nullptr, 0, 10);
  }
  int rc = -1;
  auto out = root_sql("SELECT @@have_ssl", &rc);
  if (rc != 0) throw std::runtime_error("mariadbd does not answer root:\n" + out + error_log());
  // Without TlsFiles the gate is what brings TLS: a backend with TLS of its
  // own would hide mistakes. With them, a server that silently ignored a bad
  // certificate would make every upstream TLS test fail for the wrong reason.
  if (tls_ && out != "YES\n") {
    throw std::runtime_error("mariadbd did not turn TLS on: have_ssl=" + out + error_log());
  }
  if (!tls_ && out != "DISABLED\n") {
    throw std::runtime_error("mariadbd has TLS on: have_ssl=" + out);
  }
}

void MariadbServer::create_accounts() {
  int rc = -1;
  auto out = root_sql(setup_sql(), &rc);
  if (rc != 0) throw std::runtime_error("creating users and tables failed:\n" + out + error_log());
}

void MariadbServer::stop() {
  if (!server_) return;
  if (server_->running()) {
    // SQL SHUTDOWN rather than `mariadb-admin shutdown`, which then polls for
    // the pid file in whole seconds; the child's exit is awaited here.
    root_sql("SHUTDOWN");
    server_->wait_exit(Millis(15000));
  }
  server_.reset();  // SIGTERM, then SIGKILL, if it still runs
}

std::string MariadbServer::root_sql(const std::string& sql, int* exit_code) const {
  return test::run_command("timeout 30 mariadb --no-defaults --connect-timeout=10 --socket=" +
                               test::shell_quote(socket_.string()) + " -uroot -N -B -e " +
                               test::shell_quote(sql) + " 2>&1",
                           exit_code);
}

long long MariadbServer::global_status(const std::string& name) const {
  int rc = -1;
  auto out = root_sql("SHOW GLOBAL STATUS LIKE '" + name + "'", &rc);
  // "NAME\tVALUE\n"
  auto tab = out.find('\t');
  if (rc != 0 || tab == std::string::npos) return -1;
  try {
    return std::stoll(out.substr(tab + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string MariadbServer::error_log() const {
  return "--- mariadbd error log ---\n" + read_file(dir_ / "error.log");
}

}  // namespace tlsgate::e2e::mysql
