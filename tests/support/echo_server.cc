#include "support/echo_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "support/loopback.h"

namespace tlsgate::test {

EchoServer::EchoServer() {
  listen_fd_ = listen_loopback(&port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

EchoServer::~EchoServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) {
    if (t.joinable()) t.join();
  }
  ::close(listen_fd_);
}

void EchoServer::accept_loop() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    accepted_++;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void EchoServer::serve(int fd) {
  std::vector<char> buf(size_t{64} * 1024);
  // Waits for `events` on fd; false when the server stops or the peer is gone.
  auto ready = [&](short events) {
    while (!stop_) {
      pollfd pfd{fd, events, 0};
      int n = ::poll(&pfd, 1, 50);
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
    return false;
  };
  bool ok = true;
  while (ok && ready(POLLIN)) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // the client half-closed: everything is echoed, so half-close too
      ::shutdown(fd, SHUT_WR);
      // Wait (bounded by stop_) for the other side to close before closing,
      // so that close() never turns into a reset.
      while (ready(POLLIN)) {
        if (::recv(fd, buf.data(), buf.size(), 0) <= 0) break;
      }
      break;
    }
    if (n < 0) break;
    size_t done = 0;
    while (done < static_cast<size_t>(n)) {
      if (!ready(POLLOUT)) {
        ok = false;
        break;
      }
      ssize_t w =
          ::send(fd, buf.data() + done, static_cast<size_t>(n) - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      done += static_cast<size_t>(w);
      echoed_ += w;
    }
  }
  ::close(fd);
}

}  // namespace tlsgate::test
