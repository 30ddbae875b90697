#include "net/stream.h"

#include <sys/socket.h>

#include <cerrno>

#include <openssl/err.h>

namespace tlsgate::net {

Stream::Stream(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
}

void Stream::attach_tls(tls::SslPtr ssl) {
  ssl_ = std::move(ssl);
  SSL_set_fd(ssl_.get(), socket_.native_handle());
}

IoResult Stream::ssl_result(int rc) {
  if (rc > 0) return {Io::kOk, static_cast<size_t>(rc)};
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      return {Io::kWantRead};
    case SSL_ERROR_WANT_WRITE:
      return {Io::kWantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return {Io::kEof};
    default:
      return {Io::kError};
  }
}

IoResult Stream::handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  return rc == 1 ? IoResult{Io::kOk} : ssl_result(rc);
}

IoResult Stream::read(char* data, size_t size) {
  if (ssl_) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ssl_.get(), data, size, &n);
    return rc == 1 ? IoResult{Io::kOk, n} : ssl_result(rc);
  }
  while (true) {
    ssize_t n = ::recv(socket_.native_handle(), data, size, 0);
    if (n > 0) return {Io::kOk, static_cast<size_t>(n)};
    if (n == 0) return {Io::kEof};
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult{Io::kWantRead} : IoResult{Io::kError};
  }
}

IoResult Stream::write(const char* data, size_t size) {
  if (ssl_) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_write_ex(ssl_.get(), data, size, &n);
    return rc == 1 ? IoResult{Io::kOk, n} : ssl_result(rc);
  }
  while (true) {
    ssize_t n = ::send(socket_.native_handle(), data, size, MSG_NOSIGNAL);
    if (n >= 0) return {Io::kOk, static_cast<size_t>(n)};
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult{Io::kWantWrite}
                                                   : IoResult{Io::kError};
  }
}

IoResult Stream::shutdown_write(bool fin) {
  if (ssl_ && !close_notify_sent_) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_.get());
    if (rc < 0) {
      auto r = ssl_result(rc);
      if (r.status == Io::kWantWrite || r.status == Io::kWantRead) return r;
    }
    close_notify_sent_ = true;
  }
  if (fin) ::shutdown(socket_.native_handle(), SHUT_WR);
  return {Io::kOk};
}

void Stream::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace tlsgate::net
