// `tlsgate serve` under a service manager: the sd_notify(3) datagrams a
// Type=notify unit relies on (READY=1 once the listeners are open,
// RELOADING=1/READY=1 around SIGHUP, STOPPING=1 at the drain, WATCHDOG=1),
// received on a unix datagram socket the test binds as NOTIFY_SOCKET; and
// the refusal to run as root without --allow-root.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "gate_fixture.h"
#include "util/fd.h"

namespace tlsgate::e2e::gate {
namespace {

// The manager's end: a bound AF_UNIX datagram socket, one message per recv.
class NotifyListener {
 public:
  explicit NotifyListener(const fs::path& path) : path_(path) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = fd_.valid() && path.string().size() < sizeof(addr.sun_path) &&
             ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  bool bound() const { return bound_; }

  // The next datagram, or "" at the deadline.
  std::string next(Millis deadline = Millis(10000)) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Skips WATCHDOG=1 pings; the next other message, or "".
  std::string next_state(Millis deadline = Millis(10000)) {
    for (int i = 0; i < 1000; ++i) {
      auto m = next(deadline);
      if (m != "WATCHDOG=1") return m;
    }
    return "";
  }

 private:
  fs::path path_;
  util::Fd fd_;
  bool bound_ = false;
};

class GateNotify : public GateFixture {
 protected:
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    GateFixture::TearDown();
  }
  // Binds the manager's socket and points the gate (started next) at it.
  std::unique_ptr<NotifyListener> listen_as_manager() {
    auto l = std::make_unique<NotifyListener>(dir_ / "notify.sock");
    if (l->bound()) ::setenv("NOTIFY_SOCKET", (dir_ / "notify.sock").c_str(), 1);
    return l;
  }
};

TEST_F(GateNotify, ReadyOnlyOnceListeningThenReloadingAroundSighupAndStoppingAtDrain) {
  auto manager = listen_as_manager();
  ASSERT_TRUE(manager->bound()) << dir_;
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());

  std::string ready = manager->next_state();
  ASSERT_EQ(ready, "READY=1\nSTATUS=serving") << gate_->report();
  // READY=1 means the port is open: a connection gets in at once.
  EXPECT_EQ(gate_->wait_listening(gate_port_, Millis(200)), "");
  EXPECT_TRUE(gate_->log().find("tlsgate serving") != std::string::npos) << gate_->report();

  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  std::string reloading = manager->next_state();
  EXPECT_EQ(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << reloading;
  EXPECT_GT(std::strtoull(reloading.substr(reloading.find('=', 12) + 1).c_str(), nullptr, 10), 0u)
      << reloading;
  EXPECT_EQ(manager->next_state(), "READY=1\nSTATUS=serving (reloaded)") << gate_->report();

  auto status = gate_->terminate();
  EXPECT_EQ(manager->next_state(Millis(2000)), "STOPPING=1\nSTATUS=draining") << gate_->report();
  EXPECT_EQ(status, 0) << gate_->report();
}

TEST_F(GateNotify, NoReadyWhenAPolicyFailsToLoad) {
  auto manager = listen_as_manager();
  ASSERT_TRUE(manager->bound());
  fs::remove(policy_dir_ / "private.key");
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
  EXPECT_EQ(gate_->wait_exit(Millis(10000)), 2) << gate_->report();
  EXPECT_EQ(manager->next(Millis(200)), "") << "READY sent by a gate that did not start";
}

TEST_F(GateNotify, WatchdogIsFedAtHalfTheInterval) {
  auto manager = listen_as_manager();
  ASSERT_TRUE(manager->bound());
  ::setenv("WATCHDOG_USEC", "200000", 1);
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
  ASSERT_EQ(manager->next_state(), "READY=1\nSTATUS=serving") << gate_->report();
  int pings = 0;
  auto t0 = Clock::now();
  while (pings < 3 && Clock::now() - t0 < std::chrono::seconds(5)) {
    if (manager->next(Millis(1000)) == "WATCHDOG=1") ++pings;
  }
  EXPECT_EQ(pings, 3) << gate_->report();
  // Three pings at 100 ms each: well inside a second (a 200 ms watchdog
  // would have fired on a gate that fed it less often).
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
}

TEST_F(GateNotify, AnUnusableNotifySocketIsAConfigErrorNamingIt) {
  ::setenv("NOTIFY_SOCKET", "relative/notify.sock", 1);
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
  EXPECT_EQ(gate_->wait_exit(Millis(10000)), 2) << gate_->report();
  EXPECT_NE(gate_->log().find("NOTIFY_SOCKET=\"relative/notify.sock\": not a socket path"),
            std::string::npos)
      << gate_->report();
}

TEST_F(GateNotify, RefusesToRunAsRootWithoutAllowRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: the refusal cannot be seen";
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  test::ChildProcess serve(
      {test::GateProcess::binary(), "serve", "-c", (dir_ / "tlsgate.conf").string()},
      test::ChildProcess::Options{.output_file = dir_ / "root.log"});
  EXPECT_EQ(serve.wait_exit(Millis(10000)), 2) << serve.output();
  EXPECT_NE(serve.output().find("tlsgate: error: tlsgate serve will not run as root: it parses "
                                "what any client on the network sends"),
            std::string::npos)
      << serve.output();
  EXPECT_NE(serve.output().find("or pass --allow-root if you accept the risk"), std::string::npos);
  EXPECT_EQ(serve.output().find("listening on"), std::string::npos) << serve.output();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
