// ReadyWaiter::wait(socket, type, handler): socket.async_wait(type,
// handler) without a system call per wait.
//
// Asio 1.74 starts every async_wait with epoll_ctl(EPOLL_CTL_MOD), although
// its reactor registered the descriptor edge-triggered once and the event
// set does not change (epoll_reactor::start_op: a wait is never
// "speculative"). A session that waits after each read paid one MOD per
// message and direction, and one more wake-up when the MOD re-armed an
// EPOLLOUT that the backend's connect had left registered (bench/README.md,
// issue 20). nginx registers a socket once and never touches it again.
//
// This wait is a reactor operation of our own, started as a speculative one
// whose speculative attempt always says "not yet": the reactor queues it
// without a system call, and completes it at the descriptor's next event. A
// write wait adds EPOLLOUT to the registration the first time, as Asio does.
//
// The contract that makes this safe, kept by every caller (Session):
//  - wait only right after the socket said it is not ready: EAGAIN, or a
//    read that left nothing behind (Stream's `drained`), in the same
//    handler. Readiness that comes after that is a new edge, which the
//    reactor reports once the wait is queued.
//  - the socket's io_context is run by one thread (each gate worker's is),
//    so the reactor cannot take that edge between the caller's EAGAIN and
//    the wait.
//
// The operation reaches into asio::detail (the socket's implementation and
// epoll_reactor::start_op), checked against Boost 1.74 (Debian 12); with
// another Boost or reactor it is plain async_wait.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/version.hpp>

#if defined(BOOST_ASIO_HAS_EPOLL) && BOOST_VERSION == 107400
#define TLSGATE_READY_WAIT 1
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#endif

namespace tlsgate::net {

#ifdef TLSGATE_READY_WAIT
namespace ready_wait_detail {

namespace detail = boost::asio::detail;
static_assert(std::is_same_v<detail::reactor, detail::epoll_reactor>);

// The operation being started on this thread: only its speculative attempt
// comes from start_op; every other perform() is the reactor's, at an event.
inline thread_local const void* t_starting = nullptr;

template <typename Handler, typename IoExecutor>
class ReadyOp : public detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ReadyOp);

  ReadyOp(Handler& handler, const IoExecutor& io_ex)
      : reactor_op(boost::system::error_code(), &ReadyOp::do_perform, &ReadyOp::do_complete),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  // Not done at the start (the caller knows the socket is not ready); done
  // at an event, and not "exhausted", so that a second wait of the same
  // kind queued behind this one is woken too.
  static status do_perform(reactor_op* base) { return t_starting == base ? not_done : done; }

  static void do_complete(void* owner, detail::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* o = static_cast<ReadyOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    detail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The handler is moved out before the operation's memory is recycled,
    // as Asio's own operations do: it may own that memory.
    detail::binder1<Handler, boost::system::error_code> handler(o->handler_, o->ec_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner != nullptr) {
      detail::fenced_block b(detail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  Handler handler_;
  detail::handler_work<Handler, IoExecutor> work_;
};

// The socket's implementation (protected in basic_socket).
struct SocketAccess : boost::asio::ip::tcp::socket {
  static auto& of(boost::asio::ip::tcp::socket& s) {
    return (s.*(&SocketAccess::impl_)).get_implementation();
  }
};

}  // namespace ready_wait_detail

// Tells Asio that the descriptor of `s` is no dup(2) of another (Asio
// assumes one for a descriptor it was handed, accepted ones included), so
// closing it needs no EPOLL_CTL_DEL first; `non_blocking`: it was made with
// SOCK_NONBLOCK, so the first operation does not set it again (an ioctl).
inline void mark_own_descriptor(boost::asio::ip::tcp::socket& s, bool non_blocking) {
  namespace ops = boost::asio::detail::socket_ops;
  auto& state = ready_wait_detail::SocketAccess::of(s).state_;
  state = static_cast<ops::state_type>(state & ~ops::possible_dup);
  if (non_blocking) state = static_cast<ops::state_type>(state | ops::internal_non_blocking);
}

// The waits of one session: the reactor of its io_context is looked up once
// (use_service takes a lock and searches the context's services).
class ReadyWaiter {
 public:
  template <typename Handler>
  void wait(boost::asio::ip::tcp::socket& s, boost::asio::socket_base::wait_type type,
            Handler&& handler) {
    namespace d = ready_wait_detail;
    using H = std::decay_t<Handler>;
    using Op = d::ReadyOp<H, boost::asio::ip::tcp::socket::executor_type>;
    if (reactor_ == nullptr) {
      reactor_ = &boost::asio::use_service<d::detail::reactor>(
          boost::asio::query(s.get_executor(), boost::asio::execution::context));
    }
    auto& impl = d::SocketAccess::of(s);
    H h(std::forward<Handler>(handler));
    bool continuation = boost_asio_handler_cont_helpers::is_continuation(h);
    typename Op::ptr p = {std::addressof(h), Op::ptr::allocate(h), nullptr};
    p.p = new (p.v) Op(h, s.get_executor());
    if ((impl.state_ & d::detail::socket_ops::non_blocking) == 0 &&
        !d::detail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true,
                                                          p.p->ec_)) {
      reactor_->post_immediate_completion(p.p, continuation);
    } else {
      d::t_starting = p.p;
      reactor_->start_op(type == boost::asio::socket_base::wait_write ? d::detail::reactor::write_op
                                                                      : d::detail::reactor::read_op,
                         impl.socket_, impl.reactor_data_, p.p, continuation, true);
      d::t_starting = nullptr;
    }
    p.v = p.p = nullptr;
  }

 private:
  ready_wait_detail::detail::reactor* reactor_ = nullptr;
};

#else

inline void mark_own_descriptor(boost::asio::ip::tcp::socket&, bool) {}

class ReadyWaiter {
 public:
  template <typename Handler>
  void wait(boost::asio::ip::tcp::socket& s, boost::asio::socket_base::wait_type type,
            Handler&& handler) {
    s.async_wait(type, std::forward<Handler>(handler));
  }
};

#endif

}  // namespace tlsgate::net
