#include "net/stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>

namespace tlsgate::net {
namespace {

// ---- the socket BIO ----
// Reads are recv_some(). Writes go straight to send(2), after anything
// gathered; while Gather::corked they are appended to the gather buffer
// instead, which is sent when full and at BIO_flush (also what OpenSSL calls
// at the end of each handshake flight and after an alert).

using Gather = Stream::Gather;

Gather& gather_of(BIO* b) { return *static_cast<Gather*>(BIO_get_data(b)); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

// Before each SSL_* call: ERR_clear_error() resets all 16 slots of the
// thread's queue every time, a cost per record; the queue is mostly empty.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// recv(2) that also tells whether the socket is empty after it: the kernel
// appends the bytes left to read (TCP_INQ, set by Stream's constructor; a
// FIN not yet read counts as one). An empty socket can only become readable
// through new data, which wakes an edge-triggered wait (net/ready_wait.h);
// a short read alone does not say so, since a FIN behind the data stays.
ssize_t recv_some(int fd, char* data, size_t size, bool& drained) {
  iovec iov{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &m, 0);
  drained = false;
  if (n <= 0) return n;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (c != nullptr && c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ) {
    int left = 0;
    std::memcpy(&left, CMSG_DATA(c), sizeof left);
    drained = left == 0;
  }
  return n;
}

// Sends the gathered bytes: 1 when none are left, 0 when the socket is full
// (retry flag set), -1 on an error (errno says which).
int send_gathered(BIO* b, Gather& g) {
  while (g.begin < g.end) {
    ssize_t n = ::send(g.fd, g.buffer.get() + g.begin, g.end - g.begin, MSG_NOSIGNAL);
    if (n >= 0) {
      g.begin += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      if (!would_block()) return -1;
      BIO_set_retry_write(b);
      return 0;
    }
  }
  g.begin = g.end = 0;
  if (!g.corked) g.buffer.reset();  // drained and no more coming: keep nothing
  return 1;
}

int bio_write(BIO* b, const char* data, int size) {
  BIO_clear_retry_flags(b);
  Gather& g = gather_of(b);
  auto len = static_cast<size_t>(size);
  if (g.corked) {
    if (g.end + len > Gather::kCorkBytes && g.begin < g.end) {
      if (int r = send_gathered(b, g); r < 0) return -1;
    }
    if (g.begin > 0) {  // the socket took part of the gather: move the rest down
      std::memmove(g.buffer.get(), g.buffer.get() + g.begin, g.end - g.begin);
      g.end -= g.begin;
      g.begin = 0;
    }
    size_t room = Gather::kCorkBytes - g.end;
    if (room == 0) {
      BIO_set_retry_write(b);
      return -1;
    }
    if (!g.buffer) g.buffer = take_block();
    BIO_clear_retry_flags(b);  // a full socket above, but these bytes are taken
    size_t n = std::min(room, len);
    std::memcpy(g.buffer.get() + g.end, data, n);
    g.end += n;
    return static_cast<int>(n);
  }
  if (int r = send_gathered(b, g); r <= 0) return -1;
  while (true) {
    ssize_t n = ::send(g.fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (would_block()) BIO_set_retry_write(b);
    return -1;
  }
}

int bio_read(BIO* b, char* data, int size) {
  BIO_clear_retry_flags(b);
  Gather& g = gather_of(b);
  while (true) {
    ssize_t n = recv_some(g.fd, data, static_cast<size_t>(size), g.drained);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (would_block()) {
      g.drained = true;
      BIO_set_retry_read(b);
    }
    return -1;
  }
}

long bio_ctrl(BIO* b, int cmd, long, void* ptr) {  // NOLINT(google-runtime-int): OpenSSL's type
  Gather& g = gather_of(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      BIO_clear_retry_flags(b);
      return send_gathered(b, g);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(g.end - g.begin);  // NOLINT(google-runtime-int)
    case BIO_C_GET_FD:
      if (ptr != nullptr) *static_cast<int*>(ptr) = g.fd;
      return g.fd;
    case BIO_CTRL_DUP:
    case BIO_CTRL_GET_CLOSE:
      return 1;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "tlsgate socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

Stream::Stream(int fd, bool inherited) : fd_(fd) {
  if (inherited) return;
  int on = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd_, IPPROTO_TCP, TCP_INQ, &on, sizeof on);
}

void Stream::limit_unsent() {
  int unsent = kUnsentLowWater;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent, sizeof unsent);
}

bool Stream::prepare_listener(int fd) {
  int on = 1;
  int unsent = kUnsentLowWater;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0 &&
         ::setsockopt(fd, IPPROTO_TCP, TCP_INQ, &on, sizeof on) == 0 &&
         ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent, sizeof unsent) == 0;
}

bool Stream::attach_tls(tls::SslPtr ssl) {
  auto gather = std::make_unique<Gather>();
  gather->fd = fd_;
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) return false;
  BIO_set_data(bio, gather.get());
  gather_ = std::move(gather);
  ssl_ = std::move(ssl);
  SSL_set_bio(ssl_.get(), bio, bio);
  return true;
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
  if (fd_ < 0) return {Io::kError};  // detached
  clear_errors();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc != 1) return ssl_result(rc);
  // From now on read ahead fills up to a gather's worth per recv(2). The
  // buffer exists only while it holds bytes (SSL_MODE_RELEASE_BUFFERS), and
  // handshakes, the many-at-once case, keep OpenSSL's smaller default.
  SSL_set_default_read_buffer_len(ssl_.get(), Gather::kCorkBytes);
  return {Io::kOk};
}

IoResult Stream::read(char* data, size_t size) {
  if (fd_ < 0) return {Io::kError};
  if (ssl_) {
    // More than one record per call when they are already buffered (read
    // ahead): a bulk upload then costs one send(2) to the backend per
    // buffer, not one per 16 KiB record.
    size_t total = 0;
    while (total < size) {
      clear_errors();
      size_t n = 0;
      int rc = SSL_read_ex(ssl_.get(), data + total, size - total, &n);
      if (rc != 1) {
        // What stopped the loop (close_notify, an error) shows again on
        // the next call; the bytes read so far go first.
        return total > 0 ? IoResult{Io::kOk, total} : ssl_result(rc);
      }
      total += n;
      if (!SSL_has_pending(ssl_.get())) return {Io::kOk, total, total < size && gather_->drained};
    }
    return {Io::kOk, total};
  }
  while (true) {
    bool drained = false;
    ssize_t n = recv_some(fd_, data, size, drained);
    if (n > 0) return {Io::kOk, static_cast<size_t>(n), drained};
    if (n == 0) return {Io::kEof};
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult{Io::kWantRead} : IoResult{Io::kError};
  }
}

IoResult Stream::ssl_write(const char* data, size_t size) {
  clear_errors();
  size_t n = 0;
  int rc = SSL_write_ex(ssl_.get(), data, size, &n);
  return rc == 1 ? IoResult{Io::kOk, n} : ssl_result(rc);
}

IoResult Stream::write(const char* data, size_t size) {
  if (fd_ < 0) return {Io::kError};
  if (ssl_) return ssl_write(data, size);
  while (true) {
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) return {Io::kOk, static_cast<size_t>(n)};
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult{Io::kWantWrite}
                                                   : IoResult{Io::kError};
  }
}

IoResult Stream::write_more(const char* data, size_t size) {
  if (fd_ < 0) return {Io::kError};
  if (!ssl_) return write(data, size);
  gather_->corked = true;
  auto r = ssl_write(data, size);
  gather_->corked = false;
  return r;
}

IoResult Stream::flush() {
  if (fd_ < 0) return {Io::kError};
  if (!ssl_) return {Io::kOk};
  int r = BIO_flush(SSL_get_wbio(ssl_.get()));
  if (r > 0) return {Io::kOk};
  return r == 0 ? IoResult{Io::kWantWrite} : IoResult{Io::kError};
}

void Stream::detach() {
  fd_ = -1;
  if (gather_) gather_->fd = -1;  // what OpenSSL itself writes through (an alert, say)
}

IoResult Stream::shutdown_write(bool fin) {
  if (fd_ < 0) return {Io::kError};
  if (ssl_ && !close_notify_sent_) {
    clear_errors();
    int rc = SSL_shutdown(ssl_.get());
    if (rc < 0) {
      auto r = ssl_result(rc);
      if (r.status == Io::kWantWrite || r.status == Io::kWantRead) return r;
    }
    close_notify_sent_ = true;
  }
  if (fin) ::shutdown(fd_, SHUT_WR);
  return {Io::kOk};
}

}  // namespace tlsgate::net
