#include "net/turn_queue.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace tlsgate::net {
namespace {

// Three bulk turns wait, then an interactive handler becomes ready: it runs
// before them all (each turn is posted from a posted handler).
TEST(TurnQueue, AnInteractiveHandlerDoesNotWaitForBulkTurns) {
  boost::asio::io_context loop;
  TurnQueue turns(loop);
  std::vector<std::string> order;
  for (const char* name : {"bulk1", "bulk2", "bulk3"})
    turns.defer([&order, name] { order.push_back(name); });
  boost::asio::post(loop, [&order] { order.push_back("interactive"); });
  EXPECT_EQ(loop.run(), 7U);  // the handler, and two posts per turn
  EXPECT_EQ(order, (std::vector<std::string>{"interactive", "bulk1", "bulk2", "bulk3"}));
  EXPECT_EQ(turns.size(), 0U);
}

// A turn deferred while a peer's data is on its way runs after the read
// that the loop's next poll finds ready; posted once, it would run first.
TEST(TurnQueue, ATurnRunsAfterWhatTheNextPollFindsReady) {
  boost::asio::io_context loop(1);
  boost::asio::local::stream_protocol::socket a(loop), b(loop);
  boost::asio::local::connect_pair(a, b);
  std::vector<std::string> order;
  char byte = 0;
  b.async_read_some(boost::asio::buffer(&byte, 1), [&order](const boost::system::error_code&,
                                                            size_t) { order.push_back("read"); });
  TurnQueue turns(loop);
  boost::asio::post(loop, [&] {
    boost::asio::write(a, boost::asio::buffer("x", 1));
    turns.defer([&order] { order.push_back("turn"); });
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"read", "turn"}));
}

// A turn that defers its next one goes behind the others: round robin.
TEST(TurnQueue, TurnsThatComeBackTakeTurnsRoundRobin) {
  boost::asio::io_context loop;
  TurnQueue turns(loop);
  std::string order;
  std::function<void(char, int)> move = [&](char who, int left) {
    order += who;
    if (left > 1) turns.defer([&move, who, left] { move(who, left - 1); });
  };
  turns.defer([&] { move('a', 3); });
  turns.defer([&] { move('b', 3); });
  loop.run();
  EXPECT_EQ(order, "ababab");
}

}  // namespace
}  // namespace tlsgate::net
