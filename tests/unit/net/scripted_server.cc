#include "scripted_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace tlsgate::net::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr Millis kReadLimit{5000};
constexpr size_t kMaxRequest = size_t{1} << 20;

util::Fd listen_on(bool ipv6, uint16_t* port) {
  util::Fd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw std::runtime_error("ScriptedServer: socket() failed");
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(fd.get(), sa, len) != 0 || ::listen(fd.get(), 16) != 0 ||
      ::getsockname(fd.get(), sa, &len) != 0)
    throw std::runtime_error(std::string("ScriptedServer: cannot listen on ") +
                             (ipv6 ? "[::1]:0" : "127.0.0.1:0"));
  *port = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

// The Content-Length of a request head, 0 when it has none.
size_t content_length(const std::string& head) {
  for (std::string_view name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
    auto at = head.find(name);
    if (at != std::string::npos) return std::strtoul(head.c_str() + at + name.size(), nullptr, 10);
  }
  return 0;
}

}  // namespace

ScriptedServer::ScriptedServer(Script script, bool ipv6)
    : script_(std::move(script)), listener_(listen_on(ipv6, &port_)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("ScriptedServer: pipe2 failed");
  stop_read_.reset(fds[0]);
  stop_write_.reset(fds[1]);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  (void)!::write(stop_write_.get(), "x", 1);
  acceptor_.join();
  for (auto& t : connections_) t.join();
}

void ScriptedServer::accept_loop() {
  while (true) {  // until the stop signal
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    if (p[1].revents != 0) return;
    util::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) continue;
    {
      std::lock_guard lock(mutex_);
      ++accepted_;
    }
    changed_.notify_all();
    connections_.emplace_back([this, fd = std::move(fd)]() mutable {
      Connection c(*this, std::move(fd));
      script_(c);
      {
        std::lock_guard lock(mutex_);
        ++finished_;
      }
      changed_.notify_all();
    });
  }
}

void ScriptedServer::record(std::string request) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  changed_.notify_all();
}

std::vector<std::string> ScriptedServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t ScriptedServer::accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

size_t ScriptedServer::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

bool ScriptedServer::wait_for_requests(size_t count, Millis deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [&] { return requests_.size() >= count; });
}

bool ScriptedServer::wait_for_finished(size_t count, Millis deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [&] { return finished_ >= count; });
}

bool ScriptedServer::Connection::wait(short events, Millis limit) {
  // events 0: a pause, which watches only the stop signal.
  pollfd p[2] = {{server_.stop_read_.get(), POLLIN, 0}, {fd_.get(), events, 0}};
  nfds_t count = events == 0 ? 1 : 2;
  auto end = Clock::now() + limit;
  while (true) {  // bounded by `limit`
    auto left = std::chrono::ceil<Millis>(end - Clock::now()).count();
    if (left < 0) return events == 0;
    int rc = ::poll(p, count, static_cast<int>(left));
    if (rc < 0) continue;
    if (p[0].revents != 0) return false;
    if (rc == 0) return events == 0;  // a pause that ran its course
    return true;
  }
}

std::string ScriptedServer::Connection::read_request() {
  std::string got;
  auto end = Clock::now() + kReadLimit;
  while (got.size() < kMaxRequest) {  // bounded by size and by time
    auto head_end = got.find("\r\n\r\n");
    if (head_end != std::string::npos && got.size() >= head_end + 4 + content_length(got)) {
      server_.record(got);
      return got;
    }
    auto left = std::chrono::ceil<Millis>(end - Clock::now());
    if (left.count() <= 0 || !wait(POLLIN, left)) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return "";
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  return "";
}

bool ScriptedServer::Connection::send(std::string_view data) {
  while (!data.empty()) {  // each round sends something or waits on the stop signal
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait(POLLOUT, Millis(60000))) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool ScriptedServer::Connection::pause(Millis ms) { return wait(0, ms); }

bool ScriptedServer::Connection::wait_client_close() {
  for (int round = 0; round < 100000; ++round) {
    if (!wait(POLLIN, Millis(60000))) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

}  // namespace tlsgate::net::test
