#include "poller.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "util.h"

namespace tlsgate::bench {

Poller::Poller() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (fd_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));  // NOLINT
}

Poller::~Poller() { ::close(fd_); }

void Poller::add(int fd, uint64_t token) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = token;
  if (::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    die(std::string("epoll_ctl: ") + std::strerror(errno));  // NOLINT
  }
}

int Poller::wait(uint64_t timeout_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout_ns / kSecond);
  ts.tv_nsec = static_cast<long>(timeout_ns % kSecond);
  int n = ::epoll_pwait2(fd_, events_.data(), static_cast<int>(events_.size()), &ts, nullptr);
  if (n < 0 && errno != EINTR) die(std::string("epoll_pwait2: ") + std::strerror(errno));  // NOLINT
  return n < 0 ? 0 : n;
}

}  // namespace tlsgate::bench
