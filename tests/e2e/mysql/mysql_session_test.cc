// protocol=mysql after the login and around the backend: a COM_CHANGE_USER
// under user_map, compression under user_map, and backends that stay silent
// or close during the connection phase. The `mariadb` client has no
// change-user command, so RawClient speaks the protocol itself (over TLS with
// the client certificate, mysql_native_password), packet by packet as
// tests/review's mychange.py does. One MariaDB server per test process, as in
// mysql_gate_test.cc.
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "e2e/mysql/mysql_gate_fixture.h"
#include "support/loopback.h"
#include "support/temp_dir.h"

namespace tlsgate::e2e::mysql {
namespace {

namespace fs = std::filesystem;
using test::Millis;

SuiteServer& session_server() {
  static SuiteServer s;
  return s;
}

std::string sha1(std::string_view in) {
  std::string out(20, '\0');
  unsigned len = 0;
  EVP_Digest(in.data(), in.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha1(),
             nullptr);
  return out;
}

// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
std::string native_password(const std::string& password, const std::string& scramble) {
  std::string stage1 = sha1(password);
  std::string mask = sha1(scramble + sha1(stage1));
  for (size_t i = 0; i < stage1.size(); ++i) stage1[i] = static_cast<char>(stage1[i] ^ mask[i]);
  return stage1;
}

// CLIENT_LONG_PASSWORD, PROTOCOL_41, SSL, TRANSACTIONS, SECURE_CONNECTION,
// PLUGIN_AUTH: EOF packets end a result's columns and rows.
constexpr uint32_t kCaps = 0x1 | 0x200 | 0x800 | 0x2000 | 0x8000 | 0x80000;

std::string le(uint32_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A blocking MySQL client on TLS; every read waits 10 s at most.
class RawClient {
 public:
  struct Packet {
    uint8_t seq = 0;
    std::string payload;
  };

  ~RawClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  // Greeting, SSL Request, TLS with the client certificate, then a
  // HandshakeResponse; the server's answer (OK, or why not), "" when logged in.
  std::string log_in(int port, const fs::path& ca, const fs::path& cert, const fs::path& key,
                     const std::string& user, const std::string& password) {
    fd_ = test::connect_loopback(port);
    if (fd_ < 0) return "connect failed";
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    auto greeting = read();
    if (!greeting || greeting->payload.empty() || greeting->payload[0] != 10) return "no greeting";
    const std::string& g = greeting->payload;
    size_t at = g.find('\0', 1) + 1 + 4;
    scramble_ = g.substr(at, 8);
    at += 8 + 1 + 2 + 1 + 2 + 2;
    size_t data_len = static_cast<uint8_t>(g[at]);
    at += 1 + 10;
    scramble_ += g.substr(at, std::max<size_t>(13, data_len - 8) - 1);
    std::string fixed = le(kCaps, 4) + le(1 << 24, 4) + '\x21' + std::string(23, '\0');
    write(1, fixed);
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_use_certificate_file(ctx_, cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return "TLS handshake failed";
    std::string auth = native_password(password, scramble_);
    write(2, fixed + user + '\0' + static_cast<char>(auth.size()) + auth + "mysql_native_password" +
                 '\0');
    return answer(password);
  }

  // COM_CHANGE_USER with the login's scramble; "" when the server said OK,
  // else the ERR's text or why not.
  std::string change_user(const std::string& user, const std::string& password) {
    std::string auth = native_password(password, scramble_);
    write(0, "\x11" + user + '\0' + static_cast<char>(auth.size()) + auth + '\0' +
                 std::string("\x21\x00", 2) + "mysql_native_password" + '\0');
    return answer(password);
  }

  // The first column of the first row of `sql`'s result, or "ERR ...".
  std::optional<std::string> query(const std::string& sql) {
    write(0, "\x03" + sql);
    std::optional<std::string> first;
    for (int eofs = 0, packets = 0; eofs < 2 && packets < 100; ++packets) {
      auto p = read();
      if (!p || p->payload.empty()) return std::nullopt;
      uint8_t type = static_cast<uint8_t>(p->payload[0]);
      if (type == 0xff) return "ERR " + p->payload.substr(9);
      if (type == 0xfe && p->payload.size() < 9) {
        ++eofs;
      } else if (eofs == 1 && !first && type < 251) {
        first = p->payload.substr(1, type);
      }
    }
    return first;
  }

  // The server closed the connection (no byte more within 10 s).
  bool closed() { return !read().has_value(); }

  std::optional<Packet> read() {
    std::string header = read_bytes(4);
    if (header.size() < 4) return std::nullopt;
    size_t len = static_cast<uint8_t>(header[0]) | static_cast<uint8_t>(header[1]) << 8 |
                 static_cast<uint8_t>(header[2]) << 16;
    Packet p{static_cast<uint8_t>(header[3]), read_bytes(len)};
    if (p.payload.size() < len) return std::nullopt;
    return p;
  }

 private:
  // OK, ERR, or an auth switch answered with the new scramble.
  std::string answer(const std::string& password) {
    auto p = read();
    if (p && !p->payload.empty() && static_cast<uint8_t>(p->payload[0]) == 0xfe) {
      size_t nul = p->payload.find('\0', 1);
      std::string scramble = p->payload.substr(nul + 1);
      if (!scramble.empty() && scramble.back() == '\0') scramble.pop_back();
      write(p->seq + 1, native_password(password, scramble));
      p = read();
    }
    if (!p || p->payload.empty()) return "connection closed";
    if (p->payload[0] == 0) return "";
    if (static_cast<uint8_t>(p->payload[0]) == 0xff) {
      return "ERR " +
             std::to_string(static_cast<uint8_t>(p->payload[1]) |
                            static_cast<uint8_t>(p->payload[2]) << 8) +
             ": " + p->payload.substr(9);
    }
    return "unexpected packet";
  }

  void write(uint8_t seq, const std::string& payload) {
    std::string packet =
        le(static_cast<uint32_t>(payload.size()), 3) + static_cast<char>(seq) + payload;
    if (ssl_ != nullptr) {
      SSL_write(ssl_, packet.data(), static_cast<int>(packet.size()));
    } else {
      (void)!::write(fd_, packet.data(), packet.size());
    }
  }

  std::string read_bytes(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      int r = ssl_ != nullptr ? SSL_read(ssl_, out.data() + got, static_cast<int>(n - got))
                              : static_cast<int>(::read(fd_, out.data() + got, n - got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string scramble_;
};

// The gate's log line that holds `text` ("" when none does).
std::string line_with(const std::string& log, const std::string& text) {
  size_t at = log.find(text);
  if (at == std::string::npos) return "";
  size_t begin = log.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return log.substr(begin, log.find('\n', at) - begin);
}

class MysqlSession : public MysqlGateFixture {
 protected:
  static void SetUpTestSuite() { session_server().start(); }
  static void TearDownTestSuite() { session_server().stop(); }
  SuiteServer& suite_server() const override { return session_server(); }

  std::string log_in(RawClient& c, const std::string& user, const std::string& password) {
    return c.log_in(gate_port_, ca_file_, dir_ / "app1.crt", dir_ / "app1.key", user, password);
  }
};

TEST_F(MysqlSession, ChangeUserToAnUnmappedUserIsRefusedAndTheSessionClosed) {
  use_user_map();  // app1 -> app1 only
  start_gate();
  RawClient c;
  ASSERT_EQ(log_in(c, "app1", kApp1Password), "") << log();
  EXPECT_EQ(c.query("SELECT CURRENT_USER()"), "app1@%");
  // A wrong password: had the backend seen the command, it would count it.
  long long denied_before = server().global_status("Access_denied_errors");
  ASSERT_GE(denied_before, 0);
  EXPECT_EQ(c.change_user("admin1", "not-the-password"),
            "ERR 1045: tlsgate: certificate identity app1 may not log in as admin1");
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(gate_->wait_for_log(
      "COM_CHANGE_USER to MySQL user \"admin1\" refused: tlsgate: certificate identity app1 may "
      "not log in as admin1 [reason: user_not_mapped]"))
      << log();
  EXPECT_EQ(server().global_status("Access_denied_errors"), denied_before);
}

TEST_F(MysqlSession, ChangeUserToAMappedUserWorksAndReloadsCheckTheNewUser) {
  use_user_map();
  test::write_text(dir_ / "users.map", "app1 app1\napp1 admin1\n");
  start_gate();
  RawClient c;
  ASSERT_EQ(log_in(c, "app1", kApp1Password), "") << log();
  ASSERT_EQ(c.change_user("admin1", kAdmin1Password), "") << log();
  EXPECT_EQ(c.query("SELECT CURRENT_USER()"), "admin1@%");
  EXPECT_TRUE(gate_->wait_for_log("COM_CHANGE_USER to MySQL user \"admin1\" allowed")) << log();

  // app1 stays allowed, admin1 does not: the session is admin1's now.
  test::write_text(dir_ / "users.map.new", "app1 app1\n");
  fs::rename(dir_ / "users.map.new", dir_ / "users.map");
  EXPECT_TRUE(
      gate_->wait_for_log("may not log in as admin1 (connector.my.user_map)", Millis(10000)))
      << log();
  EXPECT_TRUE(c.closed());
}

// MariaDB keeps the session as it was when it refuses a COM_CHANGE_USER:
// a reload of the map checks the earlier user too.
TEST_F(MysqlSession, ChangeUserTheBackendRefusesLeavesTheEarlierUserChecked) {
  use_user_map();
  test::write_text(dir_ / "users.map", "app1 app1\napp1 admin1\n");
  start_gate();
  RawClient c;
  ASSERT_EQ(log_in(c, "app1", kApp1Password), "") << log();
  EXPECT_EQ(c.change_user("admin1", "not-the-password"),
            "ERR 1045: Access denied for user 'admin1'@'127.0.0.1' (using password: YES)");
  EXPECT_EQ(c.query("SELECT CURRENT_USER()"), "app1@%");

  test::write_text(dir_ / "users.map.new", "app1 admin1\n");
  fs::rename(dir_ / "users.map.new", dir_ / "users.map");
  EXPECT_TRUE(gate_->wait_for_log("may not log in as app1 (connector.my.user_map)", Millis(10000)))
      << log();
  EXPECT_TRUE(c.closed());
}

// What a session may hold is bounded: a user name no server takes, and the
// users a reload must check.
TEST_F(MysqlSession, ChangeUserLimits) {
  use_user_map();
  test::write_text(dir_ / "users.map", "app1 *\n");
  start_gate();
  {
    RawClient c;
    ASSERT_EQ(log_in(c, "app1", kApp1Password), "") << log();
    EXPECT_EQ(c.change_user(std::string(513, 'u'), "x"),
              "ERR 1045: tlsgate: a user name longer than 512 bytes is not accepted");
    EXPECT_TRUE(c.closed());
  }
  std::string sql;
  for (int i = 1; i <= 17; ++i) {
    sql += "CREATE USER IF NOT EXISTS 'user" + std::to_string(i) + "'@'%' IDENTIFIED BY 'pw';";
  }
  int rc = 0;
  auto out = server().root_sql(sql, &rc);
  ASSERT_EQ(rc, 0) << out;
  RawClient c;
  ASSERT_EQ(log_in(c, "app1", kApp1Password), "") << log();
  for (int i = 1; i <= 15; ++i) ASSERT_EQ(c.change_user("user" + std::to_string(i), "pw"), "");
  // Users a reload checks now: app1 and user1..15, and the current one.
  EXPECT_EQ(c.change_user("app1", kApp1Password), "");
  EXPECT_EQ(c.change_user("user16", "pw"), "") << "app1 needs no new entry";
  EXPECT_EQ(c.query("SELECT CURRENT_USER()"), "user16@%");
  EXPECT_EQ(c.change_user("user17", "pw"),
            "ERR 1045: tlsgate: more than 17 different users in one session; reconnect to log "
            "in as user17");
  EXPECT_TRUE(c.closed());
}

TEST_F(MysqlSession, UserMapTakesCompressionAway) {
  auto compression = [&] {
    return mariadb(verified_tls() + " " + client_cert() + " " + app1() + " --compress",
                   "SHOW SESSION STATUS LIKE 'Compression'");
  };
  start_gate();
  auto r = compression();
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "Compression\tON\n") << "without a map the gate leaves compression alone";
  gate_.reset();

  // A compressed stream would hide a COM_CHANGE_USER from the gate.
  use_user_map();
  start_gate();
  r = compression();
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "Compression\tOFF\n");
}

// Something that accepts TCP and waits for the client to speak first (a
// Redis, say): the backend's fault, shown at warning, and the client hears it.
TEST_F(MysqlSession, BackendWithoutGreetingIsAnUpstreamFailure) {
  int port = 0;
  int silent = test::listen_loopback(&port);
  conf_["connector.my.upstream_address"] = "127.0.0.1:" + std::to_string(port);
  conf_["ssl.policy.my.handshake_timeout"] = "1";
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  ::close(silent);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("1043"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tlsgate: the database server is unavailable; the gate's log says why"),
            std::string::npos)
      << r.out;
  std::string line = "MySQL backend 127.0.0.1:" + std::to_string(port) +
                     " sent no greeting within 1s (ssl.policy.my.handshake_timeout); is "
                     "upstream_address a MySQL/MariaDB server? [reason: timeout]";
  EXPECT_TRUE(gate_->wait_for_log(line)) << log();
  EXPECT_NE(line_with(log(), line).find(" warning connector my: client "), std::string::npos)
      << log();
}

// The realistic first try of proxy_protocol=v2: MariaDB reads the header as
// a login from a network it does not take PROXY headers from, and closes.
TEST_F(MysqlSession, BackendThatClosesDuringLoginIsAnUpstreamFailure) {
  int rc = 0;
  auto out = server().root_sql("SET GLOBAL proxy_protocol_networks=''", &rc);
  ASSERT_EQ(rc, 0) << out;
  conf_["connector.my.proxy_protocol"] = "v2";
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tlsgate: the database server is unavailable; the gate's log says why"),
            std::string::npos)
      << r.out;
  std::string line =
      "MySQL backend 127.0.0.1:" + std::to_string(server().port()) +
      " closed the connection during the connection phase; does it accept the PROXY v2 header "
      "the gate sends (connector.my.proxy_protocol=v2; MariaDB: proxy_protocol_networks)? "
      "[reason: other]";
  EXPECT_TRUE(gate_->wait_for_log(line)) << log();
  EXPECT_NE(line_with(log(), line).find(" warning connector my: client "), std::string::npos)
      << log();
}

}  // namespace
}  // namespace tlsgate::e2e::mysql
