// The backend's socket finds no descriptor (socket(2) fails with EMFILE
// after the client was admitted): the client is closed, counted once — as
// refused for want of descriptors, not also as an upstream failure — and
// the limit named is the gate's FdBudget's, with no getrlimit(2) on the
// data path.
//
// socket and getrlimit are interposed for this binary: glibc's own, unless
// a test arms a failure, which then hits the next non-blocking socket()
// made on another thread than the test's (the gate's worker). getrlimit
// calls are counted.
#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include <gtest/gtest.h>

#include "support/echo_server.h"
#include "unit/net/in_process_gate.h"
#include "util/fd_limit.h"

namespace {

std::atomic<int> socket_failures{0};
std::atomic<int> getrlimit_calls{0};
std::thread::id test_thread;

}  // namespace

extern "C" int socket(int domain, int type, int protocol) noexcept {
  static auto* real = reinterpret_cast<int (*)(int, int, int)>(::dlsym(RTLD_NEXT, "socket"));
  if ((type & SOCK_NONBLOCK) != 0 && std::this_thread::get_id() != test_thread) {
    int n = socket_failures.load();
    while (n > 0 && !socket_failures.compare_exchange_weak(n, n - 1)) {
    }
    if (n > 0) {
      errno = EMFILE;
      return -1;
    }
  }
  return real(domain, type, protocol);
}

extern "C" int getrlimit(__rlimit_resource_t resource, rlimit* limits) noexcept {
  static auto* real =
      reinterpret_cast<int (*)(__rlimit_resource_t, rlimit*)>(::dlsym(RTLD_NEXT, "getrlimit"));
  ++getrlimit_calls;
  return real(resource, limits);
}

namespace tlsgate::net {
namespace {

using test_gate::closed_after_sending;
using test_gate::wait_until;

TEST(ConnectFault, BackendSocketWithoutDescriptorsIsOneRefusalNotAnUpstreamFailure) {
  test_thread = std::this_thread::get_id();
  test::EchoServer backend;
  test_gate::InProcessGate gate;
  gate.set("connector.db.tls_level", "DISABLED");
  gate.set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(backend.port()));
  ASSERT_TRUE(gate.create());
  ASSERT_TRUE(gate.start());
  const auto& stats = gate.gate()->connectors().front()->stats;
  // The readiness probe's session dials the backend too: let it finish first.
  ASSERT_TRUE(wait_until([&] { return stats.active == 0; }));

  getrlimit_calls = 0;
  socket_failures = 1;
  EXPECT_TRUE(closed_after_sending(gate.port(), "hello"));
  EXPECT_EQ(socket_failures, 0) << "the gate never opened a backend socket";
  EXPECT_TRUE(wait_until([&] { return stats.refused_no_descriptors == 1; }));
  EXPECT_TRUE(wait_until([&] { return stats.active == 0; }));
  EXPECT_EQ(stats.upstream_failures, 0u) << "counted twice: also as an upstream failure";
  EXPECT_EQ(getrlimit_calls, 0) << "getrlimit(2) on the data path";

  // The interposer does see our getrlimit calls (else the check above proves nothing).
  util::fd_limit();
  EXPECT_GE(getrlimit_calls, 1);
}

}  // namespace
}  // namespace tlsgate::net
