// Kept-alive admin connections and reloads of the admin policy (review s22
// section 2): a client certificate revoked with `tlsgate cert revoke` +
// `cert crl --install-into` loses its open connection, idle or not; a peer
// the reload still admits keeps its own.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "e2e/admin/admin_fixture.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/process.h"
#include "tls/ssl_handles.h"

namespace tlsgate::e2e::admin {
namespace {

namespace fs = std::filesystem;
using test::q;

// One HTTPS connection to the admin listener with a client certificate, on
// which requests are sent one after the other (HTTP/1.1 keep-alive), as
// Python's http.client does. Blocking with 5 s socket timeouts.
class KeepAliveClient {
 public:
  KeepAliveClient(int port, const fs::path& ca, const fs::path& cert, const fs::path& key) {
    fd_ = test::connect_loopback(port);
    if (fd_ < 0) return;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_use_certificate_file(ctx_.get(), cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    connected_ = SSL_connect(ssl_.get()) == 1;
    ERR_clear_error();
  }
  ~KeepAliveClient() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  bool connected() const { return connected_; }

  // The status of `method path` on this connection; 0 when the connection
  // ended without an answer.
  int request(const std::string& method, const std::string& path) {
    if (!connected_) return 0;
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                      "Connection: keep-alive\r\n\r\n";
    if (SSL_write(ssl_.get(), req.data(), static_cast<int>(req.size())) <= 0) return fail();
    std::string got;
    size_t header_end = std::string::npos;
    for (int i = 0; i < 200 && header_end == std::string::npos; ++i) {
      if (!read_some(got)) return fail();
      header_end = got.find("\r\n\r\n");
    }
    if (header_end == std::string::npos || !got.starts_with("HTTP/1.1 ")) return fail();
    size_t length = 0;
    if (auto at = got.find("\r\nContent-Length: "); at != std::string::npos && at < header_end) {
      length = std::stoul(got.substr(at + 18));
    }
    for (int i = 0; i < 200 && got.size() < header_end + 4 + length; ++i) {
      if (!read_some(got)) return fail();
    }
    return std::stoi(got.substr(9, 3));
  }

  // True when the server closed the connection within 5 s (a read ends without data).
  bool closed_by_server() {
    char buf[64];
    errno = 0;
    int n = SSL_read(ssl_.get(), buf, sizeof buf);
    bool timed_out = n <= 0 && SSL_get_error(ssl_.get(), n) == SSL_ERROR_SYSCALL &&
                     (errno == EAGAIN || errno == EWOULDBLOCK);
    ERR_clear_error();
    return n <= 0 && !timed_out;
  }

 private:
  bool read_some(std::string& got) {
    char buf[4096];
    int n = SSL_read(ssl_.get(), buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fail() {
    ERR_clear_error();
    connected_ = false;
    return 0;
  }

  int fd_ = -1;
  tls::SslCtxPtr ctx_;
  tls::SslPtr ssl_;
  bool connected_ = false;
};

class AdminKeepAlive : public AdminGate {
 protected:
  // `tlsgate ARGS` in the test folder; fatal when it fails.
  void tlsgate_cli(const std::string& args) {
    auto r = test::run_shell(q(test::GateProcess::binary()) + " " + args, dir_);
    ASSERT_EQ(r.code, 0) << "tlsgate " << args << "\n" << r.out << r.err;
  }
  std::unique_ptr<KeepAliveClient> client(const fs::path& cert, const fs::path& key) {
    return std::make_unique<KeepAliveClient>(admin_port_, ca_file_, cert, key);
  }
};

// Waits at most 10 s (bounded count) for `cond`.
template <typename F>
bool within_10s(F cond) {
  for (int i = 0; i < 400; ++i) {
    if (cond()) return true;
    ::poll(nullptr, 0, 25);
  }
  return cond();
}

TEST_F(AdminKeepAlive, RevokedClientCertificateLosesItsOpenConnection) {
  // A second CA, made and used by the CLI as an operator would, that the
  // admin policy trusts beside the fixture's; "ops2" is a second "ops".
  ASSERT_NO_FATAL_FAILURE(tlsgate_cli("cert ca --out cli-ca --name 'Admin CLI CA'"));
  ASSERT_NO_FATAL_FAILURE(tlsgate_cli("cert issue --ca cli-ca --out ops2 --client ops"));
  fs::copy_file(dir_ / "cli-ca" / "ca.crt", dir_ / "certs" / "admin" / "trusted" / "cli-ca.crt");
  fs::create_directories(dir_ / "certs" / "admin" / "revoked");
  start_gate();

  const auto ops2_crt = dir_ / "ops2" / "public.crt", ops2_key = dir_ / "ops2" / "private.key";
  auto busy = client(ops2_crt, ops2_key);                           // sends requests
  auto idle = client(ops2_crt, ops2_key);                           // sends one, then waits
  auto other = client(clients_ / "ops.crt", clients_ / "ops.key");  // not revoked
  ASSERT_TRUE(busy->connected() && idle->connected() && other->connected()) << log();
  ASSERT_EQ(busy->request("POST", "/v1/reload"), 200) << log();
  ASSERT_EQ(idle->request("GET", "/v1/status"), 200) << log();
  ASSERT_EQ(other->request("GET", "/v1/status"), 200) << log();

  ASSERT_NO_FATAL_FAILURE(tlsgate_cli("cert revoke --ca cli-ca ops2/public.crt"));
  ASSERT_NO_FATAL_FAILURE(tlsgate_cli("cert crl --ca cli-ca --install-into certs/admin/revoked"));

  // The idle connection is closed soon after the file watcher reloaded the
  // admin policy, without sending anything.
  EXPECT_TRUE(idle->closed_by_server()) << log();
  EXPECT_TRUE(within_10s([&] {
    return log().find("ssl.policy.admin was reloaded") != std::string::npos;
  })) << log();
  EXPECT_NE(log().find("certificate revoked"), std::string::npos) << log();

  // The same connection that could reload before may not any more.
  EXPECT_NE(busy->request("POST", "/v1/reload"), 200) << log();
  // A new connection with the revoked certificate fails its handshake.
  auto again = client(ops2_crt, ops2_key);
  EXPECT_EQ(again->request("GET", "/healthz"), 0);
  // A peer the reloaded policy still admits keeps its connection and role.
  EXPECT_EQ(other->request("POST", "/v1/reload"), 200) << log();
  EXPECT_EQ(other->request("GET", "/v1/status"), 200) << log();
}

}  // namespace
}  // namespace tlsgate::e2e::admin
