#include "net/dial.h"

#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>

#include "util/strings.h"

namespace tlsgate::net {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Deadline deadline_after(config::Seconds timeout) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
}

bool wait_ready(int fd, Io want, Deadline deadline) {
  pollfd p{fd, static_cast<short>(want == Io::kWantWrite ? POLLOUT : POLLIN), 0};
  while (true) {  // bounded by the deadline
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    // Ready, or an error on the fd: either way the next call reports it.
    if (rc > 0 || (rc < 0 && errno != EINTR)) return true;
  }
}

Connecting start_connect(const sockaddr* address, socklen_t length) {
  Connecting c;
  c.fd.reset(::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c.fd.valid()) {
    c.error = errno;
    return c;
  }
  // Interrupted, the connect goes on in the background, as if EINPROGRESS.
  if (::connect(c.fd.get(), address, length) != 0) c.error = errno == EINTR ? EINPROGRESS : errno;
  return c;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

tl::expected<util::Fd, DialError> dial(const config::HostPort& peer, Deadline deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(peer.host.c_str(), std::to_string(peer.port).c_str(), &hints, &found);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? util::errno_text(errno) : ::gai_strerror(rc);
    return tl::unexpected(DialError{true, false, why});
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  DialError last{false, false, "it has no address"};
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    auto c = start_connect(a->ai_addr, a->ai_addrlen);
    if (c.error == EINPROGRESS) {
      if (!wait_ready(c.fd.get(), Io::kWantWrite, deadline))
        return tl::unexpected(DialError{false, true, ""});
      c.error = connect_result(c.fd.get());
    }
    if (c.error == 0) return std::move(c.fd);
    last.reason = util::errno_text(c.error);
  }
  return tl::unexpected(last);
}

}  // namespace tlsgate::net
