// Allocation failures on the data path: SSL_new or BIO_new returns NULL (as
// under memory pressure) while the gate sets up a client's or a backend's
// TLS. The connection is closed and counted; the gate serves on.
//
// SSL_new and BIO_new are interposed for this binary: they call OpenSSL's
// own unless a test arms a failure, which then hits the next call made on
// another thread than the test's (the gate's worker).
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "unit/net/in_process_gate.h"
#include "util/fd.h"

namespace {

std::atomic<int> ssl_new_calls{0};  // made by the gate's threads
std::atomic<int> ssl_new_failures{0};
std::atomic<int> bio_new_failures{0};
std::thread::id setup_thread;

bool take(std::atomic<int>& armed) {
  if (std::this_thread::get_id() == setup_thread) return false;
  int n = armed.load();
  while (n > 0 && !armed.compare_exchange_weak(n, n - 1)) {
  }
  return n > 0;
}

}  // namespace

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  static auto* real = reinterpret_cast<SSL* (*)(SSL_CTX*)>(::dlsym(RTLD_NEXT, "SSL_new"));
  if (std::this_thread::get_id() != setup_thread) ++ssl_new_calls;
  return take(ssl_new_failures) ? nullptr : real(ctx);
}

extern "C" BIO* BIO_new(const BIO_METHOD* method) {
  static auto* real = reinterpret_cast<BIO* (*)(const BIO_METHOD*)>(::dlsym(RTLD_NEXT, "BIO_new"));
  return take(bio_new_failures) ? nullptr : real(method);
}

namespace tlsgate::net {
namespace {

using test_gate::closed_after_sending;
using test_gate::wait_until;

// A TCP listener on 127.0.0.1 that never accepts: connects still complete.
struct SilentBackend {
  SilentBackend() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(fd.get(), sa, len) == 0 && ::listen(fd.get(), 16) == 0 &&
        ::getsockname(fd.get(), sa, &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  util::Fd fd;
  uint16_t port = 0;
};

// The first bytes of a TLS ClientHello: enough for the gate to start TLS.
const std::string kClientHelloStart("\x16\x03\x01\x00\x05", 5);

class TlsSetupFault : public ::testing::Test {
 protected:
  void SetUp() override {
    setup_thread = std::this_thread::get_id();
    ssl_new_calls = 0;
    ssl_new_failures = 0;
    bio_new_failures = 0;
    gate_.set("connector.db.upstream_address", "127.0.0.1:" + std::to_string(backend_.port));
  }
  void TearDown() override {
    ssl_new_failures = 0;
    bio_new_failures = 0;
  }
  const ConnectorStats& stats() { return gate_.gate()->connectors().front()->stats; }

  SilentBackend backend_;
  test_gate::InProcessGate gate_;
};

TEST_F(TlsSetupFault, ClientSslNewOrBioNewFailsTheConnectionOnly) {
  ASSERT_TRUE(gate_.create());
  ASSERT_TRUE(gate_.start());
  ssl_new_failures = 1;
  EXPECT_TRUE(closed_after_sending(gate_.port(), kClientHelloStart));
  EXPECT_EQ(ssl_new_failures, 0) << "the gate never called SSL_new";
  bio_new_failures = 1;
  EXPECT_TRUE(closed_after_sending(gate_.port(), kClientHelloStart));
  EXPECT_EQ(bio_new_failures, 0) << "the gate never called BIO_new";
  EXPECT_TRUE(wait_until([&] { return stats().tls_setup_failures == 2; }));
  EXPECT_TRUE(wait_until([&] { return stats().active == 0; }));
}

TEST_F(TlsSetupFault, BackendSslNewOrBioNewFailsTheConnectionOnly) {
  gate_.set("connector.db.tls_level", "DISABLED");
  gate_.set("connector.db.upstream_ssl_policy", "gate");
  ASSERT_TRUE(gate_.create());
  ASSERT_TRUE(gate_.start());
  // The readiness probe's session connects to the backend too: let it take
  // its SSL_new before one is made to fail.
  ASSERT_TRUE(wait_until([] { return ssl_new_calls == 1; }));
  ssl_new_failures = 1;
  EXPECT_TRUE(closed_after_sending(gate_.port(), ""));
  EXPECT_EQ(ssl_new_failures, 0) << "the gate never called SSL_new";
  bio_new_failures = 1;
  EXPECT_TRUE(closed_after_sending(gate_.port(), ""));
  EXPECT_EQ(bio_new_failures, 0) << "the gate never called BIO_new";
  EXPECT_TRUE(wait_until([&] { return stats().tls_setup_failures == 2; }));
  EXPECT_TRUE(wait_until([&] { return stats().upstream_failures == 2; }));
}

}  // namespace
}  // namespace tlsgate::net
