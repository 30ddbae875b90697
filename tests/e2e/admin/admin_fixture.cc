#include "e2e/admin/admin_fixture.h"

#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>

#include <sstream>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki/certificate_info.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/ssl_handles.h"

namespace tlsgate::e2e::admin {

namespace fs = std::filesystem;
using test::q;

void AdminGate::SetUp() {
  // The hostile tests write into connections the server closes: a failed
  // write, not the death of the test process.
  std::signal(SIGPIPE, SIG_IGN);
  GateTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  clients_ = dir_ / "clients";
  conf_.set("server.worker_threads", "2")
      .set("server.log_level", "debug")
      .set("server.shutdown_timeout", "1")
      .set("server.reload_settle", "50ms")
      .set("ssl.policy.gate.enabled", "true")
      .set("ssl.policy.gate.base_directory", "certs/gate")
      .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
      .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
      .set("connector.echo.ssl_policy", "gate");
  enable_admin(clients_, {"ops", "viewer", "stranger"});
  auto other_ca = test::make_test_ca("nobody trusts this CA");
  auto mallory = test::make_leaf(other_ca, {"mallory"}, false, true);
  test::write_cert(clients_ / "mallory.crt", mallory.cert.get());
  test::write_key(clients_ / "mallory.key", mallory.key.get());
}

Http AdminGate::call(const std::string& who, const std::string& method, const std::string& path,
                     const std::string& body, const std::string& extra) {
  std::string cmd = "curl -sS --max-time 15 -o " + q(dir_ / "curl.body") +
                    " -w '%{http_code}' --cacert " + q(ca_file_) + " -X " + method;
  if (!who.empty()) {
    cmd += " --cert " + q(clients_ / (who + ".crt")) + " --key " + q(clients_ / (who + ".key"));
  }
  if (!body.empty()) {
    test::write_text(dir_ / "curl.request", body);
    cmd += " -H 'Content-Type: application/json' --data-binary @" + q(dir_ / "curl.request");
  }
  cmd += " " + extra + " " +
         test::shell_quote("https://127.0.0.1:" + std::to_string(admin_port_) + path);
  std::error_code ec;
  fs::remove(dir_ / "curl.body", ec);
  auto r = test::run_shell(cmd, {}, test::Millis(30000));
  Http h;
  h.curl_exit = r.code;
  h.err = r.err;
  h.status = std::atoi(r.out.c_str());
  if (fs::exists(dir_ / "curl.body")) h.body = test::read_text(dir_ / "curl.body");
  return h;
}

std::string AdminGate::metrics() {
  auto r = test::run_shell(
      "curl -sS --max-time 10 http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics", {},
      test::Millis(20000));
  return r.code == 0 ? r.out : "";
}

std::optional<double> AdminGate::metric(const std::string& series) {
  std::istringstream in(metrics());
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

namespace {

// One TLS client connection to 127.0.0.1:port, blocking with socket
// timeouts (every call bounded): the handshake, then optionally a round trip.
struct Probe {
  bool handshake = false;
  bool echoed = false;
  std::string serial;  // of the server's leaf
};

Probe probe(int port, const fs::path& ca, const fs::path& cert, const fs::path& key,
            bool round_trip) {
  Probe out;
  int fd = test::connect_loopback(port);
  if (fd < 0) return out;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!cert.empty()) {
    SSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM);
  }
  tls::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) == 1) {
    out.handshake = true;
    if (X509* leaf = SSL_get1_peer_certificate(ssl.get())) {
      out.serial = pki::serial_to_hex(leaf);
      X509_free(leaf);
    }
    const std::string ping = "ping-through-gate\n";
    if (SSL_write(ssl.get(), ping.data(), static_cast<int>(ping.size())) > 0) {
      std::string got;
      char buf[256];
      for (int i = 0; i < 20 && got.size() < ping.size(); ++i) {
        int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      out.echoed = round_trip && got == ping;
    }
  }
  ERR_clear_error();
  ::close(fd);
  return out;
}

}  // namespace

HeldClient::HeldClient(int port) {
  fd_ = test::connect_loopback(port);
  if (fd_ < 0) return;
  timeval tv{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  ctx_ = ctx;
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  const std::string ping = "held\n";
  char buf[16];
  established_ = SSL_connect(ssl) == 1 &&
                 SSL_write(ssl, ping.data(), static_cast<int>(ping.size())) > 0 &&
                 SSL_read(ssl, buf, sizeof buf) > 0;
}

HeldClient::~HeldClient() {
  SSL_free(static_cast<SSL*>(ssl_));
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
  ERR_clear_error();
}

bool HeldClient::closed_by_peer() {
  char buf[16];
  errno = 0;
  auto* ssl = static_cast<SSL*>(ssl_);
  int n = SSL_read(ssl, buf, sizeof buf);
  // A timeout (SO_RCVTIMEO) reads as EAGAIN: still open.
  bool timed_out = n <= 0 && SSL_get_error(ssl, n) == SSL_ERROR_SYSCALL &&
                   (errno == EAGAIN || errno == EWOULDBLOCK);
  ERR_clear_error();
  return n <= 0 && !timed_out;
}

std::string AdminGate::served_serial() { return probe(gate_port_, ca_file_, {}, {}, false).serial; }

bool AdminGate::data_path_serves() { return probe(gate_port_, ca_file_, {}, {}, true).echoed; }

bool AdminGate::connect_as(const std::string& who) {
  return probe(gate_port_, ca_file_, clients_ / (who + ".crt"), clients_ / (who + ".key"), true)
      .echoed;
}

}  // namespace tlsgate::e2e::admin
