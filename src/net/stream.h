// Stream: the I/O of one side of a proxied connection on a non-blocking TCP
// socket it does not own — plain, or TLS that OpenSSL reads and writes on the
// fd through our own socket BIO (no memory BIO pair to drain). The owner (a
// Session's Asio socket, a ClientPool link's util::Fd) waits for readiness
// and closes the socket after the Stream is done with it: it calls detach()
// first, or destroys the Stream first. A detached Stream does no more I/O,
// so a descriptor number the kernel hands out again is never written to.
//
// The BIO writes through to the socket, except inside write_more(): there
// the TLS records are gathered (up to kCorkBytes) and go out in one send(2)
// when the gather is full or at flush(). A bulk transfer thus costs one
// system call per 64 KiB instead of one per 16 KiB record. The gather buffer
// exists only while it holds bytes, so an idle connection keeps none.
//
// Every call is non-blocking and returns what it needs next: kWantRead or
// kWantWrite tell the owner which readiness to wait for on fd(). Every
// send(2) has MSG_NOSIGNAL: a peer that went away costs an EPIPE, never a
// SIGPIPE. Used by one thread at a time (a Session's loop thread). Before each
// SSL_* call the thread's error queue is cleared, so one connection's errors
// never leak into another's messages.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "net/block_pool.h"
#include "tls/ssl_handles.h"

namespace tlsgate::net {

enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };

struct IoResult {
  Io status;
  size_t bytes = 0;
  // read(): the read left the socket empty (not even a FIN is left), so
  // reading again now would only hear EAGAIN and waiting misses nothing:
  // data that comes later wakes the wait.
  bool drained = false;
};

class Stream {
 public:
  // The socket BIO's state (stream.cc).
  struct Gather {
    // 64 KiB of data and the overhead of its four records.
    static constexpr size_t kCorkBytes = size_t{65} * 1024;
    static_assert(kCorkBytes <= kBlockBytes);
    int fd = -1;
    bool corked = false;  // inside write_more()
    // The last read left the socket empty (EAGAIN, or nothing left behind
    // the bytes it returned): only new data can make it readable again, and
    // new data wakes an edge-triggered wait.
    bool drained = false;
    Block buffer;  // only while it holds bytes
    size_t begin = 0;
    size_t end = 0;
  };

  // fd: a connected, non-blocking TCP socket. Sets TCP_NODELAY and TCP_INQ
  // (read() learns whether it left the socket empty) on it, unless
  // `inherited`: an accepted socket whose listener has them.
  explicit Stream(int fd, bool inherited = false);

  // At most kUnsentLowWater bytes the peer has not been sent yet wait in
  // the socket's kernel queue (TCP_NOTSENT_LOWAT): the socket reports
  // writable, and the gate writes more, only as the peer takes them. A
  // client that stops reading then costs the machine its receive window
  // plus this, not the kernel's autotuned send buffer (up to tcp_wmem's 4
  // MiB each: 600 such clients drove the kernel toward TCP memory pressure,
  // issue 12). Data in flight is not limited, so neither is throughput over
  // long links; bench: downloads unchanged. Clients only: toward a local
  // backend the extra wake-ups cost uploads a third of their MB/s.
  void limit_unsent();
  static constexpr int kUnsentLowWater = 128 * 1024;
  // Sets on a listening socket what its accepted sockets then inherit (the
  // kernel copies them): TCP_NODELAY, TCP_INQ and limit_unsent(), three
  // system calls less per client. False when one failed: each Stream sets
  // them then.
  static bool prepare_listener(int fd);

  int fd() const { return fd_; }  // -1 once detached
  SSL* ssl() const { return ssl_.get(); }
  bool is_tls() const { return ssl_ != nullptr; }

  // Attaches TLS: the SSL reads and writes fd(). False when OpenSSL could
  // not allocate the socket BIO (the reason is on its error queue); the
  // Stream stays plain and `ssl` is freed.
  [[nodiscard]] bool attach_tls(tls::SslPtr ssl);

  IoResult handshake();
  // On TLS, reads as many records as are already here, up to `size`.
  IoResult read(char* data, size_t size);
  // Sends now (bytes gathered by write_more() first).
  IoResult write(const char* data, size_t size);
  // Like write(), but TLS records may wait in the gather buffer: call
  // flush() before waiting for anything else.
  IoResult write_more(const char* data, size_t size);
  // Sends what write_more() gathered: kOk when nothing is left, kWantWrite
  // when the socket is full.
  IoResult flush();
  // No more data will be written: TLS close_notify, then TCP FIN (unless
  // `fin` is false because close() follows at once and sends it).
  IoResult shutdown_write(bool fin = true);
  // The owner closes the socket next: from now on every call fails (kError)
  // without touching a descriptor. The TLS state stays for messages (ssl()).
  void detach();

 private:
  IoResult ssl_result(int rc);
  IoResult ssl_write(const char* data, size_t size);

  int fd_;
  std::unique_ptr<Gather> gather_;  // before ssl_, whose BIO points here
  tls::SslPtr ssl_;
  bool close_notify_sent_ = false;
};

}  // namespace tlsgate::net
