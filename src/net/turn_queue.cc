#include "net/turn_queue.h"

#include <utility>

#include <boost/asio/post.hpp>

namespace tlsgate::net {

void TurnQueue::defer(std::function<void()> turn) {
  waiting_.push_back(std::move(turn));
  if (!std::exchange(posted_, true)) boost::asio::post(loop_, [this] { run_one(); });
}

void TurnQueue::run_one() {
  auto turn = std::move(waiting_.front());
  waiting_.pop_front();
  turn();  // may defer() again: it goes to the back, and is not posted twice
  if (waiting_.empty()) {
    posted_ = false;
  } else {
    boost::asio::post(loop_, [this] { run_one(); });
  }
}

}  // namespace tlsgate::net
