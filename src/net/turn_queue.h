// TurnQueue: bulk transfers and new clients' handshakes take their turns
// behind interactive work.
//
// A direction of a session that has moved a whole turn (Session::kTurnBytes)
// and has more to move is a bulk transfer: it gives its loop back and waits
// here for its next turn. One worker has one queue, and at most one of its
// turns is ever queued on the loop: the next bulk turn runs after every
// handler that became ready meanwhile — a good client's 1 KiB echo, an
// accept, a timer — and not after every other bulk transfer's turn as well.
// Bulk transfers share the time the loop has left between them, round robin.
// Without it each yielded turn was a handler of its own in the loop's FIFO,
// and 200 clients that never read (their kernel buffers filling) put 200
// turns of 64 KiB of encryption before every interactive read (issue 12:
// good clients' p99 under attack). A new client's first handshake step (the
// server's signature, about 0.3 ms) takes a turn too: 200 clients that
// connect at once are 60 ms of signing, which established connections'
// messages no longer wait behind.
//
// One loop's thread only; no lock. The queue must outlive the turns it
// holds or be destroyed before its loop (then the turns are dropped, which
// releases what they hold).
#pragma once

#include <deque>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace tlsgate::net {

class TurnQueue {
 public:
  explicit TurnQueue(boost::asio::io_context& loop) : loop_(loop) {}
  TurnQueue(const TurnQueue&) = delete;
  TurnQueue& operator=(const TurnQueue&) = delete;

  // Runs `turn` on the loop after the handlers ready now, those the loop's
  // next poll finds ready, and the turns queued before it.
  void defer(std::function<void()> turn);
  size_t size() const { return waiting_.size(); }

 private:
  void post_after_next_poll();
  void run_one();

  boost::asio::io_context& loop_;
  std::deque<std::function<void()>> waiting_;
  bool posted_ = false;  // run_one() is queued on the loop
};

}  // namespace tlsgate::net
