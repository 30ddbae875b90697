// accept(2) failing with EMFILE on the gate's worker (descriptors used up
// outside the sessions the gate counts): the waiting client is taken with
// the worker's spare descriptor and closed at once, counted, and the gate
// accepts the next client as usual.
//
// accept is interposed for this binary: glibc's own, unless a test arms a
// failure for a listening port, which then hits the next accept on that port
// while a client is waiting.
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include <gtest/gtest.h>

#include "support/gate_process.h"
#include "unit/net/in_process_gate.h"
#include "util/fd.h"

namespace {

std::atomic<int> accept_failures{0};
std::atomic<int> accept_failing_port{0};

int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(addr.sin_port);
}

}  // namespace

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  static auto* real =
      reinterpret_cast<int (*)(int, sockaddr*, socklen_t*)>(::dlsym(RTLD_NEXT, "accept"));
  if (accept_failures > 0 && local_port(fd) == accept_failing_port) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1 && accept_failures.fetch_sub(1) > 0) {
      errno = EMFILE;  // the client stays queued, as with a real EMFILE
      return -1;
    }
  }
  return real(fd, addr, len);
}

namespace tlsgate::net {
namespace {

using Clock = std::chrono::steady_clock;

template <typename Ready>
bool wait_until(Ready ready) {
  auto until = Clock::now() + std::chrono::seconds(5);
  while (!ready()) {
    if (Clock::now() >= until) return false;
    ::poll(nullptr, 0, 5);
  }
  return true;
}

// Connects to 127.0.0.1:port and waits up to 5 s for the gate to close the
// connection; true when it did.
bool closed_at_once(int port) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return false;
  char byte = 0;
  return ::recv(fd.get(), &byte, 1, 0) <= 0;
}

TEST(AcceptFault, ClientArrivingWithoutDescriptorsIsClosedAtOnceAndCounted) {
  test::EchoServer backend;
  test_gate::InProcessGate gate;
  gate.set("connector.db.tls_level", "DISABLED");
  gate.set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(backend.port()));
  ASSERT_TRUE(gate.create());
  ASSERT_TRUE(gate.start());
  const auto& stats = gate.gate()->connectors().front()->stats;
  uint64_t accepted = stats.accepted;

  accept_failing_port = gate.port();
  accept_failures = 1;
  EXPECT_TRUE(closed_at_once(gate.port()));
  EXPECT_EQ(accept_failures, 0) << "the gate's accept(2) was never made to fail";
  EXPECT_TRUE(wait_until([&] { return stats.refused_no_descriptors == 1; }));
  EXPECT_EQ(stats.accepted, accepted) << "the refused client got a session";

  // The next client is served as usual (plaintext echo through the gate).
  util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(gate.port()));
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::send(fd.get(), "ping", 4, MSG_NOSIGNAL), 4);
  std::string got;
  for (int i = 0; i < 100 && got.size() < 4; ++i) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    char buf[8];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, "ping");
}

}  // namespace
}  // namespace tlsgate::net
