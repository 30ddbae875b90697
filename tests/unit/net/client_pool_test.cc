#include "net/client_pool.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "pki/pin.h"
#include "unit/tls/tls_fixture.h"
#include "util/fd.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const util::Clock& wall() { return util::SystemClock::instance(); }

std::string serial_of(const X509* cert) { return pki::describe(cert, wall()).serial_hex; }

util::Fd listen_loopback(int backlog) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(fd.get(), sa, sizeof(addr)) != 0 || ::listen(fd.get(), backlog) != 0) return {};
  return fd;
}

uint16_t port_of(const util::Fd& fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A TLS echo server on 127.0.0.1, in this process: one thread accepts, one
// thread per connection echoes until the client leaves. It records each
// client's certificate serial and counts connections that ended.
class EchoServer {
 public:
  explicit EchoServer(std::shared_ptr<const tls::Context> ctx)
      : ctx_(std::move(ctx)), listener_(listen_loopback(64)), port_(port_of(listener_)) {
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    drop_connections();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  uint16_t port() const { return port_; }

  std::vector<std::string> client_serials() const {
    std::lock_guard lock(mu_);
    return serials_;
  }

  // Waits until `count` connections have ended (the client closed, or we dropped them).
  bool wait_ended(size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return ended_ >= count; });
  }
  size_t ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

  // Ends every connection from this side, as a backend restart would.
  void drop_connections() {
    std::lock_guard lock(mu_);
    for (int fd : live_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    block_sigpipe();
    for (int i = 0; i < 10000; ++i) {  // far above what any test dials
      int fd = ::accept(listener_.get(), nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      live_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(util::Fd(fd)); });
    }
  }

  void serve(util::Fd fd) {
    block_sigpipe();
    tls::SslPtr ssl(SSL_new(ctx_->ssl_ctx.get()));
    SSL_set_fd(ssl.get(), fd.get());
    if (SSL_accept(ssl.get()) == 1) {
      const X509* cert = SSL_get0_peer_certificate(ssl.get());
      {
        std::lock_guard lock(mu_);
        serials_.push_back(cert ? serial_of(cert) : "");
      }
      char buf[4096];
      int n = 0;
      while ((n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0) {
        if (SSL_write(ssl.get(), buf, n) != n) break;
      }
      SSL_shutdown(ssl.get());
    }
    std::lock_guard lock(mu_);
    std::erase(live_, fd.get());
    ++ended_;
    cv_.notify_all();
  }

  // The server is not what is under test; the pool's own SIGPIPE handling is.
  static void block_sigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  }

  std::shared_ptr<const tls::Context> ctx_;
  util::Fd listener_;
  uint16_t port_;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;  // GUARDED_BY(mu_)
  std::vector<int> live_;             // GUARDED_BY(mu_)
  std::vector<std::string> serials_;  // GUARDED_BY(mu_)
  size_t ended_ = 0;                  // GUARDED_BY(mu_)
};

class ClientPoolTest : public ::testing::Test {
 protected:
  ClientPoolTest()
      : ca_(test::make_test_ca("Pool CA")),
        server_leaf_(test::make_leaf(ca_, {"localhost", "127.0.0.1"})),
        client_leaf_(test::make_leaf(ca_, {"app.client"}, false, true)) {
    auto server_policy = tls::testing::make_policy(dir_.path(), "backend", ca_, server_leaf_);
    server_policy.client_auth = config::ClientAuth::kRequire;
    server_ = std::make_unique<EchoServer>(
        tls::build_context(server_policy, tls::Side::kServer, {}, wall()).value());
    policies_["app"] = tls::testing::make_policy(dir_.path(), "app", ca_, client_leaf_);
  }

  ClientPool::Options options() const {
    ClientPool::Options o;
    o.endpoint = {"127.0.0.1", server_->port()};
    o.max_idle = 4;
    return o;
  }

  ClientPool make_pool(const ClientPool::Options& o, const std::string& scope = "app") {
    auto pool = ClientPool::create(registry_, policies_[scope], o);
    if (!pool) throw std::runtime_error(pool.error().message());
    return std::move(*pool);
  }

  std::string backend() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  // Sends a line and reads the echo back.
  static std::string roundtrip(PooledConnection& c, const std::string& line = "ping\n") {
    if (auto st = c.write_all(line, 5s); !st) return "write: " + st.error().message();
    std::string got;
    char buf[256];
    while (got.size() < line.size()) {  // bounded: every pass reads at least one byte or returns
      auto n = c.read_some(buf, 5s);
      if (!n) return "read: " + n.error().message();
      if (*n == 0) return "eof after " + got;
      got.append(buf, *n);
    }
    return got;
  }

  // Issues the app a new client certificate and reloads; returns its serial.
  std::string rotate_client_certificate() {
    auto next = test::make_leaf(ca_, {"app.client"}, false, true);
    test::write_cert(policies_["app"].public_certificate, next.cert.get());
    test::write_key(policies_["app"].private_key, next.key.get());
    auto reports = registry_.reload(policies_, {"app"});
    if (reports.empty() || !reports[0].ok) throw std::runtime_error("reload of app failed");
    return serial_of(next.cert.get());
  }

  test::TempDir dir_;
  test::TestCa ca_;
  pki::Issued server_leaf_;
  pki::Issued client_leaf_;
  std::unique_ptr<EchoServer> server_;
  std::map<std::string, config::Policy> policies_;
  tls::ContextRegistry registry_{{}, wall()};
};

TEST_F(ClientPoolTest, ReleasedConnectionIsLeasedAgain) {
  auto pool = make_pool(options());
  {
    auto c = pool.lease();
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(roundtrip(*c), "ping\n");
    EXPECT_EQ(c->peer().subject, pki::describe(server_leaf_.cert.get(), wall()).subject);
    EXPECT_EQ(c->context().certificate->serial_hex, serial_of(client_leaf_.cert.get()));
    EXPECT_EQ(pool.stats().idle, 0u);
  }
  EXPECT_EQ(pool.stats().idle, 1u);
  auto again = pool.lease();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(roundtrip(*again, "pong\n"), "pong\n");
  again->release();
  EXPECT_FALSE(*again);
  auto s = pool.stats();
  EXPECT_EQ(s.dialed, 1u);
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(server_->client_serials(), std::vector{serial_of(client_leaf_.cert.get())});
}

TEST_F(ClientPoolTest, ReloadClosesIdleAtOnceAndBusyOnRelease) {
  auto pool = make_pool(options());
  auto idle = pool.lease().value();
  auto busy = pool.lease().value();
  ASSERT_EQ(roundtrip(idle), "ping\n");
  ASSERT_EQ(roundtrip(busy), "ping\n");
  idle.release();
  ASSERT_EQ(pool.stats().idle, 1u);

  auto new_serial = rotate_client_certificate();
  auto s = pool.stats();
  EXPECT_EQ(s.idle, 0u);  // closed inside reload(), not at the next lease
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.closed_stale, 1u);
  EXPECT_TRUE(server_->wait_ended(1));

  // The busy one keeps its session until it is given back, then is closed.
  EXPECT_EQ(roundtrip(busy, "still here\n"), "still here\n");
  EXPECT_EQ(busy.context().certificate->serial_hex, serial_of(client_leaf_.cert.get()));
  busy.release();
  s = pool.stats();
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.closed_stale, 2u);
  EXPECT_TRUE(server_->wait_ended(2));

  auto next = pool.lease().value();
  EXPECT_EQ(roundtrip(next), "ping\n");
  EXPECT_EQ(next.context().certificate->serial_hex, new_serial);
  EXPECT_EQ(server_->client_serials().back(), new_serial);
  EXPECT_EQ(pool.stats().dialed, 3u);
}

TEST_F(ClientPoolTest, FailedReloadKeepsTheIdleConnections) {
  auto pool = make_pool(options());
  pool.lease().value().release();
  test::write_text(policies_["app"].private_key, "not a key", 0600);
  EXPECT_FALSE(registry_.reload(policies_, {"app"})[0].ok);
  EXPECT_EQ(pool.stats().idle, 1u);
  auto c = pool.lease().value();
  EXPECT_EQ(roundtrip(c), "ping\n");
  EXPECT_EQ(pool.stats().dialed, 1u);
}

TEST_F(ClientPoolTest, UntrustedBackendIsNamed) {
  auto other = test::make_test_ca("Other CA");
  policies_["stranger"] = tls::testing::make_policy(
      dir_.path(), "stranger", other, test::make_leaf(other, {"app.client"}, false, true));
  auto pool = make_pool(options(), "stranger");
  auto c = pool.lease();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "backend certificate " + pki::describe(server_leaf_.cert.get(), wall()).subject +
                " from " + backend() +
                " failed verification against ssl.policy.stranger.trusted_dir: unable to get local "
                "issuer certificate: its issuer " +
                pki::describe(server_leaf_.cert.get(), wall()).issuer +
                " is not among the CAs in " + policies_["stranger"].trusted_dir.string() +
                "; put that CA's certificate there (tlsgate reloads it), or reissue the backend's "
                "certificate from a CA that is");
  EXPECT_EQ(pool.stats().open, 0u);
}

TEST_F(ClientPoolTest, WrongServerNameIsRefused) {
  auto o = options();
  o.server_name = "db.example.com";
  auto c = make_pool(o).lease();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("from " + backend() + " does not name db.example.com"),
            std::string::npos)
      << c.error().message();
}

TEST_F(ClientPoolTest, PinMismatchIsRefusedAndAMatchingPinAccepted) {
  auto stranger = test::make_leaf(ca_, {"localhost"});
  auto wrong_pin = util::hex(pki::spki_sha256(stranger.cert.get()));
  auto right_pin = util::hex(pki::spki_sha256(server_leaf_.cert.get()));
  policies_["pinned"] = policies_["app"];
  policies_["pinned"].scope = "pinned";
  policies_["pinned"].pinned_certs = {wrong_pin};
  auto c = make_pool(options(), "pinned").lease();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "backend " + backend() + ": server certificate " +
                                     pki::describe(server_leaf_.cert.get(), wall()).subject +
                                     " (pin sha256:" + right_pin +
                                     ") is not in ssl.policy.pinned.pinned_certs");

  policies_["pinned"].pinned_certs = {"sha256:" + right_pin};
  registry_.reload(policies_, {"pinned"});
  auto ok = make_pool(options(), "pinned").lease();
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(roundtrip(*ok), "ping\n");
}

TEST_F(ClientPoolTest, RefusedConnectFailsAtOnce) {
  uint16_t closed_port = 0;
  {
    auto probe = listen_loopback(1);
    closed_port = port_of(probe);
  }  // closed again: nothing listens there now
  auto o = options();
  o.endpoint.port = closed_port;
  auto c = make_pool(o).lease();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "cannot connect to backend 127.0.0.1:" + std::to_string(closed_port) +
                " (ssl.policy.app): Connection refused; check that it is up "
                "and listens on that address");
}

TEST_F(ClientPoolTest, ConnectAndHandshakeTimeoutsAreBounded) {
  // A listener that never accepts: its queue takes the first connections
  // (they connect, then wait for a ServerHello that never comes); once full,
  // the kernel drops further SYNs, so a connect gets no answer at all.
  auto listener = listen_loopback(0);
  auto o = options();
  o.endpoint.port = port_of(listener);
  o.handshake_timeout = config::Seconds(0.3);
  o.connect_timeout = config::Seconds(0.3);
  auto pool = make_pool(o);

  auto start = Clock::now();
  auto c = pool.lease();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "TLS handshake with backend 127.0.0.1:" + std::to_string(o.endpoint.port) +
                " did not finish within 0.3 s (ssl.policy.app.handshake_timeout); check that it "
                "speaks TLS on that port");
  EXPECT_LT(Clock::now() - start, 3s);

  std::vector<util::Fd> fillers;
  for (int i = 0; i < 8; ++i) {  // fill the accept queue until a connect stalls
    util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(o.endpoint.port);
    ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    pollfd p{fd.get(), POLLOUT, 0};
    bool stalled = ::poll(&p, 1, 200) == 0;
    fillers.push_back(std::move(fd));
    if (stalled) break;
  }
  start = Clock::now();
  c = pool.lease();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "cannot connect to backend 127.0.0.1:" + std::to_string(o.endpoint.port) +
                " (ssl.policy.app): no answer within 0.3 s (connect_timeout); check that it is up "
                "and listens on that address");
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(ClientPoolTest, ConnectionsTheBackendDroppedAreNotLeasedAndWritesFailCleanly) {
  auto pool = make_pool(options());
  pool.lease().value().release();
  server_->drop_connections();
  ASSERT_TRUE(server_->wait_ended(1));
  auto c = pool.lease().value();  // the dropped one is noticed and replaced
  EXPECT_EQ(roundtrip(c), "ping\n");
  EXPECT_EQ(pool.stats().dialed, 2u);

  // Writing into a connection the backend has closed: an error, not SIGPIPE.
  server_->drop_connections();
  ASSERT_TRUE(server_->wait_ended(2));
  util::Status st;
  for (int i = 0; i < 10 && st; ++i) st = c.write_all("ping\n", 1s);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(backend()), std::string::npos) << st.error().message();
  c.release();
  EXPECT_EQ(pool.stats().open, 0u);
}

TEST_F(ClientPoolTest, UnreadReplyOrDiscardKeepsAConnectionOutOfThePool) {
  auto pool = make_pool(options());
  auto c = pool.lease().value();
  ASSERT_TRUE(c.write_all("ping\n"));
  char first = 0;
  ASSERT_EQ(c.read_some({&first, 1}).value(), 1u);  // "ing\n" is left unread
  c.release();
  EXPECT_EQ(pool.stats().open, 0u);

  auto d = pool.lease().value();
  d.discard();
  EXPECT_EQ(pool.stats().open, 0u);
  EXPECT_FALSE(d.write_all("x"));
  EXPECT_EQ(pool.stats().dialed, 2u);
  EXPECT_TRUE(server_->wait_ended(2));
}

TEST_F(ClientPoolTest, LeaseMayOutliveThePool) {
  auto pool = std::make_unique<ClientPool>(make_pool(options()));
  pool->lease().value().release();  // one idle
  auto c = pool->lease().value();
  auto other = pool->lease().value();
  other.release();
  pool.reset();
  EXPECT_TRUE(server_->wait_ended(1));  // the idle one closed with the pool
  EXPECT_EQ(roundtrip(c), "ping\n");
  c.release();
  EXPECT_TRUE(server_->wait_ended(2));
}

TEST_F(ClientPoolTest, FourThreadsLeaseConcurrentlyThroughReloads) {
  auto o = options();
  o.max_idle = 2;  // fewer than the threads: some connections close on release
  auto pool = make_pool(o);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto c = pool.lease();
        std::string line = std::to_string(t) + "/" + std::to_string(i) + "\n";
        if (!c || roundtrip(*c, line) != line) ++failures;
      }
    });
  }
  std::string last;
  for (int r = 0; r < 3; ++r) last = rotate_client_certificate();
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  auto s = pool.stats();
  EXPECT_EQ(s.open, s.idle);
  EXPECT_LE(s.idle, 2u);
  EXPECT_TRUE(server_->wait_ended(s.dialed - s.open));
  auto c = pool.lease().value();
  EXPECT_EQ(c.context().certificate->serial_hex, last);
}

}  // namespace
}  // namespace tlsgate::net
