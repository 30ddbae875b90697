#include "net/peer_chain.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <openssl/ssl.h>

#include "pki/openssl_error.h"
#include "tls/server_name.h"
#include "tls/ssl_handles.h"
#include "util/fd.h"

namespace tlsgate::net {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string peer_name(const Endpoint& p) {
  return (p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host) + ":" +
         std::to_string(p.port);
}

util::Result<util::Fd> connect_with_deadline(const Endpoint& peer, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(peer.host.c_str(), std::to_string(peer.port).c_str(), &hints, &res);
  if (rc != 0) return util::fail(peer_name(peer) + ": cannot resolve: " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    util::Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      continue;
    }
    pollfd pfd{fd.get(), POLLOUT, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) != 1) {
      last_error = "timed out";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);  // NOLINT(concurrency-mt-unsafe)
      continue;
    }
    return fd;
  }
  return util::fail(peer_name(peer) + ": cannot connect: " + last_error);
}

}  // namespace

util::Result<Endpoint> parse_endpoint(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return util::fail("\"" + text + "\" is not [ipv6]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return util::fail("\"" + text + "\" is not host:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  long value = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || value < 1 || value > 65535) {
    return util::fail("\"" + text + "\": port must be a number from 1 to 65535");
  }
  return Endpoint{host, static_cast<unsigned>(value)};
}

util::Result<std::vector<pki::X509Ptr>> fetch_peer_chain(const Endpoint& peer,
                                                         std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto fd = connect_with_deadline(peer, deadline);
  if (!fd) return util::fail(fd.error());

  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  tls::SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl) return util::fail(pki::openssl_error("cannot create a TLS client"));
  SSL_set_fd(ssl.get(), fd->get());
  tls::set_sni(ssl.get(), peer.host);
  pki::clear_openssl_errors();
  while (true) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      return util::fail(pki::openssl_error(peer_name(peer) + ": TLS handshake failed"));
    }
    pollfd pfd{fd->get(), events, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) != 1) {
      return util::fail(peer_name(peer) + ": TLS handshake timed out");
    }
  }
  std::vector<pki::X509Ptr> chain;
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl.get());
  for (int i = 0; sent != nullptr && i < sk_X509_num(sent); ++i) {
    chain.push_back(pki::up_ref(sk_X509_value(sent, i)));
  }
  SSL_shutdown(ssl.get());
  if (chain.empty()) return util::fail(peer_name(peer) + ": the peer sent no certificate");
  return chain;
}

}  // namespace tlsgate::net
