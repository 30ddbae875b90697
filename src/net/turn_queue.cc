#include "net/turn_queue.h"

#include <utility>

#include <boost/asio/post.hpp>

namespace tlsgate::net {

// Asio's loop keeps one FIFO of ready handlers with its reactor's poll as one
// entry in it; what a poll finds ready goes behind everything queued then.
// A handler posted once would therefore run before the events the next poll
// finds (a good client's echo that came in meanwhile): posted from a handler
// that was itself posted, it runs after them.
void TurnQueue::post_after_next_poll() {
  boost::asio::post(loop_, [this] { boost::asio::post(loop_, [this] { run_one(); }); });
}

void TurnQueue::defer(std::function<void()> turn) {
  waiting_.push_back(std::move(turn));
  if (!std::exchange(posted_, true)) post_after_next_poll();
}

void TurnQueue::run_one() {
  auto turn = std::move(waiting_.front());
  waiting_.pop_front();
  turn();  // may defer() again: it goes to the back, and is not posted twice
  if (waiting_.empty()) {
    posted_ = false;
  } else {
    post_after_next_poll();
  }
}

}  // namespace tlsgate::net
