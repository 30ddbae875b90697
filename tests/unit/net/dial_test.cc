// net::dial and the non-blocking connect halves, against real loopback
// listeners: connected, refused, and a listener whose queue is full (no answer).
#include "net/dial.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>

#include <vector>

#include <gtest/gtest.h>

namespace tlsgate::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// A listener on 127.0.0.1 that never accepts.
struct Listener {
  explicit Listener(int backlog) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(fd.get(), sa, len) == 0 && ::listen(fd.get(), backlog) == 0 &&
        ::getsockname(fd.get(), sa, &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  util::Fd fd;
  uint16_t port = 0;
};

uint16_t closed_port() {
  Listener probe(1);
  return probe.port;  // closed again on return: nothing listens there now
}

TEST(Dial, ConnectsAndLeavesTheSocketNonBlockingAndCloseOnExec) {
  Listener l(4);
  ASSERT_NE(l.port, 0);
  auto fd = dial({"127.0.0.1", l.port}, deadline_after(config::Seconds(5)));
  ASSERT_TRUE(fd) << fd.error().reason;
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ASSERT_EQ(::getpeername(fd->get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(ntohs(peer.sin_port), l.port);
}

TEST(Dial, NameResolvesThroughTheSystemResolver) {
  Listener l(4);
  auto fd = dial({"localhost", l.port}, deadline_after(config::Seconds(5)));
  // localhost may resolve to ::1 first, where nothing listens: the next address answers.
  ASSERT_TRUE(fd) << fd.error().reason;
}

TEST(Dial, RefusedSaysWhy) {
  auto fd = dial({"127.0.0.1", closed_port()}, deadline_after(config::Seconds(5)));
  ASSERT_FALSE(fd);
  EXPECT_FALSE(fd.error().resolving);
  EXPECT_FALSE(fd.error().timed_out);
  EXPECT_EQ(fd.error().reason, "Connection refused");
}

TEST(Dial, NoAnswerEndsAtTheDeadline) {
  // Once the never-accepting listener's queue is full, the kernel drops
  // further SYNs: a connect gets no answer at all.
  Listener l(0);
  std::vector<util::Fd> fillers;
  for (int i = 0; i < 8; ++i) {
    auto addr = loopback(l.port);
    auto c = start_connect(reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    bool stalled = c.error == EINPROGRESS &&
                   !wait_ready(c.fd.get(), Io::kWantWrite, deadline_after(config::Seconds(0.2)));
    fillers.push_back(std::move(c.fd));
    if (stalled) break;
  }
  auto start = Clock::now();
  auto fd = dial({"127.0.0.1", l.port}, deadline_after(config::Seconds(0.3)));
  auto took = Clock::now() - start;
  ASSERT_FALSE(fd);
  EXPECT_TRUE(fd.error().timed_out);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

TEST(StartConnect, TheTwoHalvesOfANonBlockingConnect) {
  Listener l(4);
  auto addr = loopback(l.port);
  auto c = start_connect(reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ASSERT_TRUE(c.fd.valid());
  ASSERT_TRUE(c.error == 0 || c.error == EINPROGRESS) << c.error;
  ASSERT_TRUE(wait_ready(c.fd.get(), Io::kWantWrite, deadline_after(config::Seconds(5))));
  EXPECT_EQ(connect_result(c.fd.get()), 0);

  auto refused = loopback(closed_port());
  c = start_connect(reinterpret_cast<sockaddr*>(&refused), sizeof refused);
  if (c.error == EINPROGRESS) {
    ASSERT_TRUE(wait_ready(c.fd.get(), Io::kWantWrite, deadline_after(config::Seconds(5))));
    c.error = connect_result(c.fd.get());
  }
  EXPECT_EQ(c.error, ECONNREFUSED);
}

TEST(WaitReady, FalseAtTheDeadlineWhenNothingComes) {
  Listener l(4);
  auto fd = dial({"127.0.0.1", l.port}, deadline_after(config::Seconds(5)));
  ASSERT_TRUE(fd);
  auto start = Clock::now();
  EXPECT_FALSE(wait_ready(fd->get(), Io::kWantRead, deadline_after(config::Seconds(0.1))));
  EXPECT_GE(Clock::now() - start, 90ms);
  EXPECT_TRUE(wait_ready(fd->get(), Io::kWantWrite, deadline_after(config::Seconds(1))));
}

}  // namespace
}  // namespace tlsgate::net
