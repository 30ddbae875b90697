#include "support/loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>

namespace tlsgate::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A socket bound to 127.0.0.1:0, listening when backlog > 0; *port the
// port it got.
int bind_any_port(int* port, int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (backlog > 0 && ::listen(fd, backlog) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

int free_loopback_port() {
  // The kernel may hand a port just closed out again: a caller that asks for
  // two before binding either (pebble's ACME and management ports) got the
  // same one twice. Ports given out lately in this process are skipped.
  static std::mutex mu;
  static std::deque<int> recent;
  std::lock_guard lock(mu);
  int port = 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    ::close(bind_any_port(&port, 0));
    if (std::find(recent.begin(), recent.end(), port) == recent.end()) break;
  }
  recent.push_back(port);
  if (recent.size() > 4096) recent.pop_front();
  return port;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  auto addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool loopback_port_accepts(int port) {
  int fd = connect_loopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

int listen_loopback(int* port, int backlog) { return bind_any_port(port, backlog); }

}  // namespace tlsgate::test
