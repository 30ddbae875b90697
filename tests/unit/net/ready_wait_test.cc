// net::ReadyWaiter on real loopback TCP sockets and Asio's real epoll
// reactor: a wait that follows EAGAIN completes when the peer acts, two waits
// of one kind both complete, a write wait ends when the peer reads, cancel
// aborts, and closing a socket marked as the gate's own works.
#include "net/ready_wait.h"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace tlsgate::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class ReadyWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    ours_ = acceptor.accept();
    ours_.non_blocking(true);
    mark_own_descriptor(ours_, false);
  }

  // Nothing to read now: what every caller has seen before it waits.
  void expect_empty() {
    char byte;
    error_code ec;
    ours_.read_some(asio::buffer(&byte, 1), ec);
    ASSERT_EQ(ec, asio::error::would_block);
  }

  // Runs the loop until `done` or 2 s pass.
  template <typename Done>
  void run_until(Done done) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
  }

  asio::io_context io_{1};
  tcp::socket peer_{io_}, ours_{io_};
  ReadyWaiter waiter_;
};

TEST_F(ReadyWaitTest, AReadWaitEndsWhenThePeerWritesAndNotBefore) {
  expect_empty();
  int woken = 0;
  error_code got;
  waiter_.wait(ours_, tcp::socket::wait_read, [&](const error_code& ec) {
    ++woken;
    got = ec;
  });
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(woken, 0) << "woken with nothing to read";
  asio::write(peer_, asio::buffer(std::string("x")));
  run_until([&] { return woken > 0; });
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(got) << got.message();
}

// The second wait is free (no system call), so it must still be woken by
// the next edge: a session waits again after each read.
TEST_F(ReadyWaitTest, EveryLaterWaitIsWokenByTheNextData) {
  int woken = 0;
  char buf[16];
  for (int round = 0; round < 5; ++round) {
    expect_empty();
    waiter_.wait(ours_, tcp::socket::wait_read, [&](const error_code& ec) {
      EXPECT_FALSE(ec);
      ++woken;
    });
    asio::write(peer_, asio::buffer(std::string("ping")));
    run_until([&] { return woken > round; });
    ASSERT_EQ(woken, round + 1) << "round " << round;
    EXPECT_EQ(ours_.read_some(asio::buffer(buf)), 4u);
  }
}

TEST_F(ReadyWaitTest, TwoReadWaitsOnOneSocketBothEnd) {
  expect_empty();
  int woken = 0;
  for (int i = 0; i < 2; ++i) {
    waiter_.wait(ours_, tcp::socket::wait_read, [&](const error_code& ec) {
      EXPECT_FALSE(ec);
      ++woken;
    });
  }
  asio::write(peer_, asio::buffer(std::string("x")));
  run_until([&] { return woken == 2; });
  EXPECT_EQ(woken, 2);
}

TEST_F(ReadyWaitTest, AWriteWaitEndsOnceThePeerReads) {
  // Fill both the peer's receive buffer and our send buffer, until the
  // socket stays unwritable for 20 ms (the kernel moves data on meanwhile).
  std::vector<char> chunk(65536, 'z');
  size_t sent = 0;
  bool full = false;
  for (int round = 0; round < 200 && !full; ++round) {
    error_code ec;
    for (int i = 0; i < 1000 && !ec; ++i) sent += ours_.write_some(asio::buffer(chunk), ec);
    ASSERT_EQ(ec, asio::error::would_block);
    pollfd p{ours_.native_handle(), POLLOUT, 0};
    full = ::poll(&p, 1, 20) == 0;
  }
  ASSERT_TRUE(full) << "the socket never filled";
  bool woken = false;
  waiter_.wait(ours_, tcp::socket::wait_write, [&](const error_code& e) {
    EXPECT_FALSE(e);
    woken = true;
  });
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(woken) << "woken while the socket is full";
  std::vector<char> sink(65536);
  size_t taken = 0;
  for (int i = 0; i < 100 && taken < sent; ++i) taken += peer_.read_some(asio::buffer(sink));
  run_until([&] { return woken; });
  EXPECT_TRUE(woken);
}

TEST_F(ReadyWaitTest, CancelEndsTheWaitAsAborted) {
  expect_empty();
  error_code got;
  waiter_.wait(ours_, tcp::socket::wait_read, [&](const error_code& ec) { got = ec; });
  ours_.cancel();
  run_until([&] { return bool(got); });
  EXPECT_EQ(got, asio::error::operation_aborted);
}

TEST_F(ReadyWaitTest, APeerThatClosesWakesTheWait) {
  expect_empty();
  bool woken = false;
  waiter_.wait(ours_, tcp::socket::wait_read, [&](const error_code&) { woken = true; });
  peer_.close();
  run_until([&] { return woken; });
  ASSERT_TRUE(woken);
  char byte;
  error_code ec;
  ours_.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  ours_.close();  // no EPOLL_CTL_DEL first: the descriptor is the gate's own
  EXPECT_FALSE(ours_.is_open());
}

}  // namespace
}  // namespace tlsgate::net
