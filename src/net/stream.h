// Stream: one side of a proxied connection — a non-blocking TCP socket,
// optionally with TLS that OpenSSL reads and writes on the fd directly
// (SSL_set_fd, no memory BIO copies).
//
// Every call is non-blocking and returns what it needs next: kWantRead or
// kWantWrite tell the session which readiness to wait for on socket().
// Owned by one Session and used only on its event loop's thread. Before each
// SSL_* call the thread's error queue is cleared, so one connection's errors
// never leak into another's messages.
#pragma once

#include <cstddef>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "tls/ssl_handles.h"

namespace tlsgate::net {

enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };

struct IoResult {
  Io status;
  size_t bytes = 0;
};

class Stream {
 public:
  explicit Stream(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  SSL* ssl() const { return ssl_.get(); }
  bool is_tls() const { return ssl_ != nullptr; }

  // Attaches TLS: the SSL reads and writes this socket's fd.
  void attach_tls(tls::SslPtr ssl);

  IoResult handshake();
  IoResult read(char* data, size_t size);
  IoResult write(const char* data, size_t size);
  // No more data will be written: TLS close_notify, then TCP FIN (unless
  // `fin` is false because close() follows at once and sends it).
  IoResult shutdown_write(bool fin = true);
  void close();

 private:
  IoResult ssl_result(int rc);

  boost::asio::ip::tcp::socket socket_;
  tls::SslPtr ssl_;
  bool close_notify_sent_ = false;
};

}  // namespace tlsgate::net
