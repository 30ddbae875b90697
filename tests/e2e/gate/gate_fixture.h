// Shared pieces of the `tlsgate serve` end-to-end tests (protocol=tcp):
// a fixture that mints a CA and the gate's certificate, writes a config and
// starts the real binary in front of an echo backend; an in-process OpenSSL
// client with timeouts; and `openssl s_client` runs.
//
// Header-only: tlsgate_test() compiles only *_test.cc files.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "pki/encode.h"
#include "pki/issuer.h"
#include "support/gate_process.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::gate {

namespace fs = std::filesystem;
using test::Millis;
using Clock = std::chrono::steady_clock;

inline std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

inline int remaining_ms(Clock::time_point until) {
  auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

inline std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

// ------------------------------------------------------------------ sockets

// A connected TCP socket to 127.0.0.1:port, non-blocking; -1 on failure.
inline int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int flags = O_NONBLOCK;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | flags);
  return fd;
}

// How a read ended.
enum class End { kData, kCloseNotify, kClosed, kTimeout };

inline const char* to_string(End e) {
  switch (e) {
    case End::kData:
      return "data";
    case End::kCloseNotify:
      return "close_notify";
    case End::kClosed:
      return "closed (FIN, reset or alert)";
    case End::kTimeout:
      return "timeout";
  }
  return "?";
}

struct ReadResult {
  std::string data;
  End end = End::kData;
  std::string error;  // OpenSSL or errno text when closed abnormally
};

// A plaintext TCP client.
class PlainClient {
 public:
  explicit PlainClient(int port) : fd_(connect_loopback(port)) {}
  ~PlainClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  PlainClient(const PlainClient&) = delete;
  PlainClient& operator=(const PlainClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool write_all(std::string_view data, Millis timeout = Millis(5000)) {
    auto until = Clock::now() + timeout;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(until)) <= 0) return false;
        continue;
      }
      return false;
    }
    return true;
  }
  // Reads until `want` bytes arrived, EOF/reset, or the timeout.
  ReadResult read(size_t want, Millis timeout = Millis(5000)) {
    ReadResult r;
    auto until = Clock::now() + timeout;
    char buf[16384];
    while (r.data.size() < want) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        r.data.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        r.end = End::kClosed;
        return r;
      }
      if (errno == EAGAIN || errno == EINTR) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(until)) <= 0) {
          r.end = End::kTimeout;
          return r;
        }
        continue;
      }
      r.end = End::kClosed;
      r.error = std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return r;
    }
    return r;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

// ------------------------------------------------------------------ TLS client

struct TlsClientOptions {
  fs::path ca_file;                       // trusted CA; empty: no verification
  fs::path cert_file, key_file;           // client certificate, if any
  std::string server_name = "localhost";  // SNI and the name checked
  int min_version = 0, max_version = 0;   // TLS1_2_VERSION, TLS1_3_VERSION
  std::string cipher_list;                // TLS 1.2
  std::string ciphersuites;               // TLS 1.3
  std::string groups;
};

// An in-process OpenSSL client on a non-blocking socket; every call waits
// with poll() up to its timeout.
class TlsClient {
 public:
  TlsClient() = default;
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Connects to 127.0.0.1:port and completes the handshake: "" or why not.
  std::string connect(int port, const TlsClientOptions& o, Millis timeout = Millis(5000)) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) return "SSL_CTX_new: " + openssl_errors();
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!o.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr) != 1)
        return "CA: " + openssl_errors();
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    if (!o.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        return "client certificate: " + openssl_errors();
      }
    }
    if (o.min_version != 0) SSL_CTX_set_min_proto_version(ctx_, o.min_version);
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, o.max_version);
    if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(ctx_, o.cipher_list.c_str()) != 1) {
      return "cipher list: " + openssl_errors();
    }
    if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx_, o.ciphersuites.c_str()) != 1) {
      return "ciphersuites: " + openssl_errors();
    }
    if (!o.groups.empty() && SSL_CTX_set1_groups_list(ctx_, o.groups.c_str()) != 1) {
      return "groups: " + openssl_errors();
    }
    fd_ = connect_loopback(port);
    if (fd_ < 0) return "connect to 127.0.0.1:" + std::to_string(port) + " failed";
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!o.server_name.empty()) {
      // SSL_set_tlsext_host_name without its C cast.
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(o.server_name.c_str()));
      if (!o.ca_file.empty()) SSL_set1_host(ssl_, o.server_name.c_str());
    }
    auto until = Clock::now() + timeout;
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(ssl_);
      if (rc == 1) return "";
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!wait(err, until)) return "handshake timed out";
        continue;
      }
      std::string why = openssl_errors();
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK)
        why += " (verify: " + std::string(X509_verify_cert_error_string(verify)) + ")";
      return "handshake failed: " + (why.empty() ? "connection closed" : why);
    }
  }

  SSL* ssl() const { return ssl_; }

  // The client's own port (the source port the gate sees).
  int local_port() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
    return ntohs(addr.sin_port);
  }

  // Drops the connection with a TCP reset (SO_LINGER 0), no close_notify.
  void reset() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }

  bool write_all(std::string_view data, Millis timeout = Millis(5000)) {
    auto until = Clock::now() + timeout;
    size_t done = 0;
    while (done < data.size()) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n);
      if (rc == 1) {
        done += n;
        continue;
      }
      int err = SSL_get_error(ssl_, rc);
      if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && wait(err, until)) continue;
      return false;
    }
    return true;
  }

  // Reads until `want` bytes arrived, the stream ended, or the timeout.
  ReadResult read(size_t want, Millis timeout = Millis(5000)) {
    ReadResult r;
    auto until = Clock::now() + timeout;
    std::vector<char> buf(64 * 1024);
    while (r.data.size() < want) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_read_ex(ssl_, buf.data(), std::min(buf.size(), want - r.data.size()), &n);
      if (rc == 1) {
        r.data.append(buf.data(), n);
        continue;
      }
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_ZERO_RETURN) {
        r.end = End::kCloseNotify;
        return r;
      }
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (wait(err, until)) continue;
        r.end = End::kTimeout;
        return r;
      }
      r.end = End::kClosed;
      r.error = openssl_errors();
      return r;
    }
    return r;
  }

  // Everything until the stream ends (or the timeout).
  ReadResult read_to_end(Millis timeout = Millis(5000)) { return read(SIZE_MAX, timeout); }

  // Sends close_notify (SSL_shutdown, one direction) and keeps the socket
  // open for reading: the TLS half-close.
  bool shutdown_write(Millis timeout = Millis(5000)) {
    auto until = Clock::now() + timeout;
    while (true) {
      ERR_clear_error();
      int rc = SSL_shutdown(ssl_);
      if (rc >= 0) return true;
      int err = SSL_get_error(ssl_, rc);
      if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && wait(err, until)) continue;
      return false;
    }
  }

  // Sends `text` and expects exactly it back.
  ::testing::AssertionResult echoes(const std::string& text, Millis timeout = Millis(5000)) {
    if (!write_all(text, timeout))
      return ::testing::AssertionFailure() << "write failed: " << openssl_errors();
    auto r = read(text.size(), timeout);
    if (r.data != text) {
      return ::testing::AssertionFailure() << "sent \"" << text << "\", got \"" << r.data
                                           << "\" then " << to_string(r.end) << " " << r.error;
    }
    return ::testing::AssertionSuccess();
  }

  // Sends data in both directions at once: writes `total` bytes of `pattern`
  // (repeated), half-closes, and reads until the peer's close_notify, checking
  // every byte received against what was sent. Returns "" or the mismatch.
  std::string stream_echo(const std::string& pattern, size_t total, Millis timeout) {
    auto until = Clock::now() + timeout;
    size_t sent = 0;
    size_t received = 0;
    bool half_closed = false;
    std::vector<char> buf(256 * 1024);
    const size_t period = pattern.size();
    while (true) {
      bool progress = false;
      int want = 0;
      // Write as much as the socket takes.
      while (sent < total) {
        size_t off = sent % period;
        size_t chunk = std::min(total - sent, period - off);
        ERR_clear_error();
        size_t n = 0;
        int rc = SSL_write_ex(ssl_, pattern.data() + off, chunk, &n);
        if (rc == 1) {
          sent += n;
          progress = true;
          continue;
        }
        int err = SSL_get_error(ssl_, rc);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) {
          return "write failed after " + std::to_string(sent) + " bytes: " + openssl_errors();
        }
        want |= err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        break;
      }
      if (sent == total && !half_closed) {
        ERR_clear_error();
        int rc = SSL_shutdown(ssl_);
        if (rc >= 0) {
          half_closed = true;
          progress = true;
        } else {
          int err = SSL_get_error(ssl_, rc);
          if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
            return "SSL_shutdown failed";
          want |= err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        }
      }
      // Read what has arrived.
      while (true) {
        ERR_clear_error();
        size_t n = 0;
        int rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
        if (rc == 1) {
          for (size_t i = 0; i < n;) {  // compare segment by segment against the repeated pattern
            size_t off = (received + i) % period;
            size_t len = std::min(n - i, period - off);
            if (std::memcmp(buf.data() + i, pattern.data() + off, len) != 0) {
              return "bytes " + std::to_string(received + i) + ".." +
                     std::to_string(received + i + len) + " differ from what was sent";
            }
            i += len;
          }
          received += n;
          progress = true;
          if (received > total) return "received more than was sent";
          continue;
        }
        int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_ZERO_RETURN) {
          if (received != total) {
            return "close_notify after " + std::to_string(received) + " of " +
                   std::to_string(total) + " bytes";
          }
          return "";
        }
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          return "read failed after " + std::to_string(received) + " bytes: " + openssl_errors();
        }
        want |= err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        break;
      }
      if (Clock::now() >= until) {
        return "timed out: sent " + std::to_string(sent) + ", received " + std::to_string(received);
      }
      if (!progress) {
        pollfd p{fd_, static_cast<short>(want | POLLIN), 0};
        ::poll(&p, 1, std::min(remaining_ms(until), 1000));
      }
    }
  }

 private:
  bool wait(int ssl_error, Clock::time_point until) {
    pollfd p{fd_, static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
    int left = remaining_ms(until);
    return left > 0 && ::poll(&p, 1, left) > 0;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

// Whether the gate refused a TLS client: the handshake failed, or it
// completed (TLS 1.3 verifies the client's certificate after the client is
// done) but the first echo never came and the connection closed.
inline ::testing::AssertionResult refused(int port, const TlsClientOptions& o) {
  TlsClient c;
  auto err = c.connect(port, o);
  if (err.find("(verify: ") !=
      std::string::npos) {  // the client refused the gate: not what we test
    return ::testing::AssertionFailure()
           << "the client did not accept the gate's certificate: " << err;
  }
  if (!err.empty()) return ::testing::AssertionSuccess() << err;
  if (!c.write_all("ping\n")) return ::testing::AssertionSuccess() << "write failed";
  auto r = c.read(5, Millis(5000));
  if (r.data.empty() && (r.end == End::kClosed || r.end == End::kCloseNotify)) {
    return ::testing::AssertionSuccess() << "closed after the handshake: " << r.error;
  }
  return ::testing::AssertionFailure()
         << "the gate let the client in: got \"" << r.data << "\", then " << to_string(r.end);
}

// ------------------------------------------------------------------ openssl s_client

struct Run {
  int code = -1;
  std::string out;
};

// `openssl s_client ARGS` with stdin from /dev/null: handshake, print the
// session, close. Bounded by `timeout 15`.
inline Run s_client(int port, const std::string& args) {
  Run r;
  r.out =
      test::run_command("timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                            " " + args + " </dev/null",
                        &r.code);
  return r;
}

// ------------------------------------------------------------------ fixture

// A config file as ordered key=value pairs (later set() wins).
class Conf {
 public:
  Conf& set(const std::string& key, const std::string& value) {
    values_[key] = value;
    return *this;
  }
  Conf& erase(const std::string& key) {
    values_.erase(key);
    return *this;
  }
  std::string text() const {
    std::string out = "# written by the gate end-to-end tests\n";
    for (const auto& [k, v] : values_) out += k + "=" + v + "\n";
    return out;
  }

 private:
  std::map<std::string, std::string> values_;
};

struct ClientCert {
  fs::path cert, key;
  pki::Issued issued;
};

class GateFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(test::GateProcess::binary().empty())
        << "TLSGATE_BIN is not set (run through ctest)";
    ASSERT_TRUE(fs::exists(test::GateProcess::binary())) << test::GateProcess::binary();
    // The clients here write to sockets the gate may close: that must fail
    // the write, not kill the test (children start with SIGPIPE at default).
    ::signal(SIGPIPE, SIG_IGN);
    dir_ = fs::canonical(tmp_.path());
    ca_ = test::make_test_ca("gate test CA");
    ca_file_ = dir_ / "ca.crt";
    test::write_cert(ca_file_, ca_.ca.cert.get());
    // The gate's own policy folder: key, certificate, trusted/ (our CA).
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false);
    policy_dir_ = dir_ / "certs" / "gate";
    fs::create_directories(policy_dir_ / "trusted");
    fs::create_directories(dir_ / "clients");
    test::write_cert(policy_dir_ / "public.crt", leaf.cert.get());
    test::write_key(policy_dir_ / "private.key", leaf.key.get());
    test::write_cert(policy_dir_ / "trusted" / "ca.crt", ca_.ca.cert.get());
    gate_port_ = test::free_loopback_port();
    conf_.set("server.worker_threads", "2")
        .set("server.log_level", "debug")
        .set("server.shutdown_timeout", "1")
        .set("ssl.policy.gate.enabled", "true")
        .set("ssl.policy.gate.base_directory", "certs/gate")
        .set("ssl.policy.gate.client_auth", "NONE")
        .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
        .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
        .set("connector.echo.ssl_policy", "gate");
  }

  void TearDown() override {
    // The gate's log on failure, or always with GATE_TEST_SHOW_LOG=1.
    if ((HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr) &&
        gate_) {  // NOLINT(concurrency-mt-unsafe)
      std::cerr << "--- " << gate_->config_file() << " ---\n"
                << conf_.text() << "--- gate log ---\n"
                << gate_->log() << "--- end ---\n";
    }
  }

  // Starts the gate with conf_ and waits until it listens (fatal on
  // failure). The listener accepts as soon as it is bound, a moment before
  // run() installs the SIGTERM/SIGHUP handlers; "tlsgate serving" is logged
  // after them, so waiting for it too makes signals safe to send.
  void start_gate() {
    gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
    auto err = gate_->wait_listening(gate_port_);
    ASSERT_EQ(err, "") << err;
    ASSERT_TRUE(gate_->wait_for_log("tlsgate serving", Millis(10000))) << log();
  }

  // A client certificate issued by ca for CN/SAN `name`, written to dir_/clients/.
  ClientCert client_cert(const std::string& name, const test::TestCa& ca) {
    ClientCert c;
    c.issued = test::make_leaf(ca, {name}, false, true);
    c.cert = dir_ / "clients" / (name + ".crt");
    c.key = dir_ / "clients" / (name + ".key");
    test::write_cert(c.cert, c.issued.cert.get());
    test::write_key(c.key, c.issued.key.get());
    return c;
  }

  TlsClientOptions client_options() const {
    TlsClientOptions o;
    o.ca_file = ca_file_;
    return o;
  }
  TlsClientOptions client_options(const ClientCert& c) const {
    auto o = client_options();
    o.cert_file = c.cert;
    o.key_file = c.key;
    return o;
  }

  // The common part of an s_client command line against the gate.
  std::string s_client_args() const {
    return "-servername localhost -verify_return_error -CAfile " + q(ca_file_);
  }

  std::string log() const { return gate_ ? gate_->log() : std::string(); }

  test::TempDir tmp_;
  fs::path dir_;
  test::TestCa ca_;
  fs::path ca_file_;
  fs::path policy_dir_;
  test::EchoServer echo_;
  int gate_port_ = 0;
  Conf conf_;
  std::unique_ptr<test::GateProcess> gate_;
};

}  // namespace tlsgate::e2e::gate
