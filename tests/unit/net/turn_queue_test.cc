#include "net/turn_queue.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace tlsgate::net {
namespace {

// Three bulk turns wait, then an interactive handler becomes ready: it runs
// after the first turn, not after all three (each posted on its own it
// would come last).
TEST(TurnQueue, AnInteractiveHandlerWaitsForOneBulkTurnAtMost) {
  boost::asio::io_context loop;
  TurnQueue turns(loop);
  std::vector<std::string> order;
  for (const char* name : {"bulk1", "bulk2", "bulk3"})
    turns.defer([&order, name] { order.push_back(name); });
  boost::asio::post(loop, [&order] { order.push_back("interactive"); });
  EXPECT_EQ(loop.run(), 4U);  // three turns and one handler: one run_one() per turn
  EXPECT_EQ(order, (std::vector<std::string>{"bulk1", "interactive", "bulk2", "bulk3"}));
  EXPECT_EQ(turns.size(), 0U);
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
