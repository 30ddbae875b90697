#include "e2e/gate/tls_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "pki/openssl_error.h"
#include "support/loopback.h"

namespace tlsgate::e2e::gate {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point until) {
  auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string openssl_errors() { return pki::drain_openssl_errors(); }

// A connected TCP socket to 127.0.0.1:port, non-blocking; invalid on failure.
util::Fd connect_nonblocking(int port) {
  util::Fd fd(test::connect_loopback(port));
  if (fd.valid()) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

const char* to_string(End e) {
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

// ------------------------------------------------------------------ PlainClient

PlainClient::PlainClient(int port) : fd_(connect_nonblocking(port)) {}

bool PlainClient::write_all(std::string_view data, Millis timeout) {
  auto until = Clock::now() + timeout;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(until)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

ReadResult PlainClient::read(size_t want, Millis timeout) {
  ReadResult r;
  auto until = Clock::now() + timeout;
  char buf[16384];
  while (r.data.size() < want) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      r.data.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      r.end = End::kClosed;
      return r;
    }
    if (errno == EAGAIN || errno == EINTR) {
      pollfd p{fd_.get(), POLLIN, 0};
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

void PlainClient::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

// ------------------------------------------------------------------ TlsClient

std::string TlsClient::connect(int port, const TlsClientOptions& o, Millis timeout) {
  ERR_clear_error();
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = ctx_.get();
  if (ctx == nullptr) return "SSL_CTX_new: " + openssl_errors();
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
      return "CA: " + openssl_errors();
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return "client certificate: " + openssl_errors();
    }
  }
  if (o.min_version != 0) SSL_CTX_set_min_proto_version(ctx, o.min_version);
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(ctx, o.cipher_list.c_str()) != 1) {
    return "cipher list: " + openssl_errors();
  }
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str()) != 1) {
    return "ciphersuites: " + openssl_errors();
  }
  if (!o.groups.empty() && SSL_CTX_set1_groups_list(ctx, o.groups.c_str()) != 1) {
    return "groups: " + openssl_errors();
  }
  fd_ = connect_nonblocking(port);
  if (!fd_.valid()) return "connect to 127.0.0.1:" + std::to_string(port) + " failed";
  ssl_.reset(SSL_new(ctx));
  SSL* ssl = ssl_.get();
  SSL_set_fd(ssl, fd_.get());
  if (!o.server_name.empty()) {
    // SSL_set_tlsext_host_name without its C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(o.server_name.c_str()));
    if (!o.ca_file.empty()) SSL_set1_host(ssl, o.server_name.c_str());
  }
  auto until = Clock::now() + timeout;
  while (true) {
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) return "";
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait(err, until)) return "handshake timed out";
      continue;
    }
    std::string why = openssl_errors();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      why += " (verify: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    return "handshake failed: " + (why.empty() ? "connection closed" : why);
  }
}

int TlsClient::local_port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(addr.sin_port);
}

void TlsClient::reset() {
  if (!fd_.valid()) return;
  linger l{1, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd_.reset();
}

bool TlsClient::write_all(std::string_view data, Millis timeout) {
  auto until = Clock::now() + timeout;
  size_t done = 0;
  while (done < data.size()) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_write_ex(ssl_.get(), data.data() + done, data.size() - done, &n);
    if (rc == 1) {
      done += n;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && wait(err, until)) continue;
    return false;
  }
  return true;
}

ReadResult TlsClient::read(size_t want, Millis timeout) {
  ReadResult r;
  auto until = Clock::now() + timeout;
  std::vector<char> buf(64 * 1024);
  while (r.data.size() < want) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ssl_.get(), buf.data(), std::min(buf.size(), want - r.data.size()), &n);
    if (rc == 1) {
      r.data.append(buf.data(), n);
      continue;
    }
    int err = SSL_get_error(ssl_.get(), rc);
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

bool TlsClient::shutdown_write(Millis timeout) {
  auto until = Clock::now() + timeout;
  while (true) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_.get());
    if (rc >= 0) return true;
    int err = SSL_get_error(ssl_.get(), rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && wait(err, until)) continue;
    return false;
  }
}

::testing::AssertionResult TlsClient::echoes(const std::string& text, Millis timeout) {
  if (!write_all(text, timeout))
    return ::testing::AssertionFailure() << "write failed: " << openssl_errors();
  auto r = read(text.size(), timeout);
  if (r.data != text) {
    return ::testing::AssertionFailure() << "sent \"" << text << "\", got \"" << r.data
                                         << "\" then " << to_string(r.end) << " " << r.error;
  }
  return ::testing::AssertionSuccess();
}

std::string TlsClient::stream_echo(const std::string& pattern, size_t total, Millis timeout) {
  SSL* ssl = ssl_.get();
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
      int rc = SSL_write_ex(ssl, pattern.data() + off, chunk, &n);
      if (rc == 1) {
        sent += n;
        progress = true;
        continue;
      }
      int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) {
        return "write failed after " + std::to_string(sent) + " bytes: " + openssl_errors();
      }
      want |= err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
      break;
    }
    if (sent == total && !half_closed) {
      ERR_clear_error();
      int rc = SSL_shutdown(ssl);
      if (rc >= 0) {
        half_closed = true;
        progress = true;
      } else {
        int err = SSL_get_error(ssl, rc);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) return "SSL_shutdown failed";
        want |= err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
      }
    }
    // Read what has arrived.
    while (true) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_read_ex(ssl, buf.data(), buf.size(), &n);
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
      int err = SSL_get_error(ssl, rc);
      if (err == SSL_ERROR_ZERO_RETURN) {
        if (received != total) {
          return "close_notify after " + std::to_string(received) + " of " + std::to_string(total) +
                 " bytes";
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
      pollfd p{fd_.get(), static_cast<short>(want | POLLIN), 0};
      ::poll(&p, 1, std::min(remaining_ms(until), 1000));
    }
  }
}

bool TlsClient::wait(int ssl_error, Clock::time_point until) {
  pollfd p{fd_.get(), static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
  int left = remaining_ms(until);
  return left > 0 && ::poll(&p, 1, left) > 0;
}

::testing::AssertionResult refused(int port, const TlsClientOptions& o) {
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

}  // namespace tlsgate::e2e::gate
