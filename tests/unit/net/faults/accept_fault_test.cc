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

#include "support/echo_server.h"
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

using test_gate::closed_after_sending;
using test_gate::connect_loopback;
using test_gate::wait_until;

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
  EXPECT_TRUE(closed_after_sending(gate.port(), ""));
  EXPECT_EQ(accept_failures, 0) << "the gate's accept(2) was never made to fail";
  EXPECT_TRUE(wait_until([&] { return stats.refused_no_descriptors == 1; }));
  EXPECT_EQ(stats.accepted, accepted) << "the refused client got a session";

  // The next client is served as usual (plaintext echo through the gate).
  auto fd = connect_loopback(gate.port());
  ASSERT_TRUE(fd.valid());
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
