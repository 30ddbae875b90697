// `tlsgate-loadgen backend`: the fast plaintext server every system under
// test forwards to. The first byte a connection sends picks what it does:
//   E  echo every later byte (handshake, ping-pong and idle modes)
//   S  sink: read and discard (bulk upload)
//   G  generate: write bytes as fast as the peer takes them (bulk download)
// One thread, edge-triggered epoll; it exits after --max-seconds.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <vector>

#include "modes.h"
#include "poller.h"
#include "util.h"

namespace tlsgate::bench {
namespace {

constexpr uint64_t kListenToken = ~uint64_t{0};
constexpr size_t kBuffer = size_t{64} * 1024;
constexpr int kStepsPerEvent = 64;  // then the fd goes to the back of the ready queue
// A generator writes one buffer per turn: a peer that takes bytes as fast as
// they come (a fresh socket's kernel buffers) would otherwise hold the loop
// for megabytes while echo connections sharing this backend wait, and their
// latency (the soak's good clients) would measure the backend, not the gate.
constexpr int kGenerateStepsPerEvent = 1;
// Queued turns between two looks at the descriptors that became ready.
constexpr size_t kPollEvery = 16;

struct Conn {
  int fd = -1;
  uint32_t gen = 0;
  char cmd = 0;
  std::vector<char> buf;  // echo: bytes read and not yet written back
  size_t off = 0;
  size_t len = 0;
  bool queued = false;
};

enum class Step { kBlocked, kClosed, kMore };

class Backend {
 public:
  explicit Backend(int listen_fd) : listen_fd_(listen_fd), source_(kBuffer, 'x') {
    poller_.add(listen_fd_, kListenToken);
  }

  void run(uint64_t deadline) {
    while (now_ns() < deadline) {
      uint64_t wait = ready_.empty() ? std::min<uint64_t>(deadline - now_ns(), kSecond) : 0;
      int n = poller_.wait(wait);
      for (int i = 0; i < n; ++i) dispatch(poller_.token(i));
      size_t queued = ready_.size();  // only those queued before this pass
      for (size_t i = 0; i < queued; ++i) {
        uint64_t token = ready_.front();
        ready_.pop_front();
        if (token != kListenToken) conns_[token & 0xffffffff].queued = false;
        dispatch(token);
        // What became ready meanwhile (an echo) is served now, not after a
        // pass over every generator queued before it: 200 generators are 12
        // MiB of writes a pass, and the echoes measured the backend.
        if ((i + 1) % kPollEvery == 0) {
          int m = poller_.wait(0);
          for (int j = 0; j < m; ++j) dispatch(poller_.token(j));
        }
      }
    }
  }

 private:
  void dispatch(uint64_t token) {
    if (token == kListenToken) return accept_all();
    size_t slot = token & 0xffffffff;
    if (slot >= conns_.size()) return;
    Conn& c = conns_[slot];
    if (c.fd < 0 || c.gen != static_cast<uint32_t>(token >> 32)) return;
    const int steps = c.cmd == 'G' ? kGenerateStepsPerEvent : kStepsPerEvent;
    for (int i = 0; i < steps; ++i) {
      Step s = step(c);
      if (s == Step::kClosed) return close_conn(slot);
      if (s == Step::kBlocked) return;
    }
    enqueue(token, &c);
  }

  void enqueue(uint64_t token, Conn* c) {
    if (c != nullptr) {
      if (c->queued) return;
      c->queued = true;
    }
    ready_.push_back(token);
  }

  void accept_all() {
    for (int i = 0; i < 1024; ++i) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) {
          std::cerr << "tlsgate-loadgen backend: out of file descriptors" << std::endl;
          return;
        }
        die(std::string("accept: ") + std::strerror(errno));  // NOLINT
      }
      set_nodelay(fd);
      size_t slot;
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = conns_.size();
        conns_.emplace_back();
      }
      Conn& c = conns_[slot];
      c.fd = fd;
      c.cmd = 0;
      c.off = c.len = 0;
      c.queued = false;
      uint64_t token = (uint64_t{c.gen} << 32) | slot;
      poller_.add(fd, token);
      enqueue(token, &c);  // data may have arrived before the fd was registered
    }
    enqueue(kListenToken, nullptr);
  }

  void close_conn(size_t slot) {
    Conn& c = conns_[slot];
    ::close(c.fd);
    c.fd = -1;
    ++c.gen;
    std::vector<char>().swap(c.buf);
    free_.push_back(slot);
  }

  // Reads into `into`; the result is bytes read, 0 at EOF, -1 when it would block, -2 on error.
  static ssize_t read_some(int fd, char* into, size_t size) {
    ssize_t n = ::recv(fd, into, size, 0);
    if (n > 0) return n;
    if (n == 0) return 0;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
  }

  Step step(Conn& c) {
    if (c.cmd == 0) {
      char first = 0;
      ssize_t n = read_some(c.fd, &first, 1);
      if (n == -1) return Step::kBlocked;
      if (n <= 0) return Step::kClosed;
      if (first != 'E' && first != 'S' && first != 'G') return Step::kClosed;
      c.cmd = first;
      if (c.cmd == 'E') c.buf.resize(kBuffer);
      return Step::kMore;
    }
    if (c.cmd == 'E') return echo(c);
    if (c.cmd == 'S') {
      ssize_t n = read_some(c.fd, source_.data(), source_.size());
      if (n == -1) return Step::kBlocked;
      return n > 0 ? Step::kMore : Step::kClosed;
    }
    return generate(c);
  }

  Step echo(Conn& c) {
    if (c.off < c.len) {
      ssize_t w = ::send(c.fd, c.buf.data() + c.off, c.len - c.off, MSG_NOSIGNAL);
      if (w < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Step::kBlocked
                                                                         : Step::kClosed;
      }
      c.off += static_cast<size_t>(w);
      if (c.off == c.len) c.off = c.len = 0;
      return Step::kMore;
    }
    ssize_t n = read_some(c.fd, c.buf.data(), c.buf.size());
    if (n == -1) return Step::kBlocked;
    if (n <= 0) return Step::kClosed;
    c.len = static_cast<size_t>(n);
    return Step::kMore;
  }

  // A closed peer shows as a failed send; a peer that only half-closed is
  // noticed by the read done whenever the socket is full.
  Step generate(Conn& c) {
    ssize_t w = ::send(c.fd, source_.data(), source_.size(), MSG_NOSIGNAL);
    if (w >= 0) return Step::kMore;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Step::kClosed;
    char sink[512];
    ssize_t n = read_some(c.fd, sink, sizeof sink);
    return n == 0 || n == -2 ? Step::kClosed : Step::kBlocked;
  }

  int listen_fd_;
  Poller poller_;
  std::vector<Conn> conns_;
  std::vector<size_t> free_;
  std::deque<uint64_t> ready_;
  std::vector<char> source_;
};

}  // namespace

int run_backend(int argc, char** argv) {
  Args args(argc, argv, {"host", "port", "max-seconds"}, {});
  std::string host = args.str("host", "127.0.0.1");
  long port = args.num("port", 0);
  long max_seconds = args.num("max-seconds", long{3} * 3600);
  if (port < 0 || port > 65535) die("--port: 0..65535");
  int fd = listen_tcp(host, static_cast<uint16_t>(port), 4096);
  if (fd < 0)
    die("backend: cannot listen on " + host + ":" + std::to_string(port) + ": " +
        std::strerror(errno));  // NOLINT
  std::cout << Json().add("mode", "backend").add("port", local_port(fd)).str() << std::endl;
  Backend(fd).run(now_ns() + static_cast<uint64_t>(max_seconds) * kSecond);
  return 0;
}

}  // namespace tlsgate::bench
