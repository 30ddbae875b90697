// net::SdNotify: the sd_notify(3) datagram protocol, against a socket the
// test binds (a path and an abstract name), and its environment handling.
#include "net/sd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tlsgate::net {
namespace {

// A bound AF_UNIX datagram socket; `name` starting with '@' is abstract.
class Manager {
 public:
  explicit Manager(const std::string& name) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') {
      addr.sun_path[0] = '\0';
    } else {
      len += 1;
    }
    bound_ = ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), len) == 0;
  }
  bool bound() const { return bound_; }
  std::string next() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return "";
    char buf[512];
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  util::Fd fd_;
  bool bound_ = false;
};

TEST(SdNotify, SendsOneDatagramPerStateToAPath) {
  tlsgate::test::TempDir tmp;
  auto path = (tmp.path() / "n.sock").string();
  Manager m(path);
  ASSERT_TRUE(m.bound());
  auto n = SdNotify::create(path);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_TRUE(n->enabled());
  ASSERT_TRUE(n->send("READY=1\nSTATUS=serving"));
  ASSERT_TRUE(n->send("STOPPING=1"));
  EXPECT_EQ(m.next(), "READY=1\nSTATUS=serving");
  EXPECT_EQ(m.next(), "STOPPING=1");
}

TEST(SdNotify, AbstractNamesAndReloadingCarriesMonotonicTime) {
  std::string name = "@tlsgate-sd-notify-test-" + std::to_string(::getpid());
  Manager m(name);
  ASSERT_TRUE(m.bound());
  auto n = SdNotify::create(name);
  ASSERT_TRUE(n) << n.error().message();
  ASSERT_TRUE(n->send_reloading());
  auto got = m.next();
  ASSERT_EQ(got.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got;
  EXPECT_GT(std::strtoull(got.c_str() + std::strlen("RELOADING=1\nMONOTONIC_USEC="), nullptr, 10),
            0u);
}

TEST(SdNotify, DisabledWithoutAnAddressAndSendsNothing) {
  auto n = SdNotify::create("");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->enabled());
  EXPECT_TRUE(n->send("READY=1"));
}

TEST(SdNotify, BadAddressesAreNamed) {
  auto rel = SdNotify::create("run/notify");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().message(),
            "NOTIFY_SOCKET=\"run/notify\": not a socket path or an abstract \"@name\"; tlsgate "
            "speaks only the AF_UNIX form of the notify protocol");
  EXPECT_FALSE(SdNotify::create("/" + std::string(200, 'x')));
}

TEST(SdNotify, AManagerThatIsGoneIsAnErrorNamingTheSocket) {
  tlsgate::test::TempDir tmp;
  auto n = SdNotify::create((tmp.path() / "absent.sock").string());
  ASSERT_TRUE(n);
  auto sent = n->send("READY=1");
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message().find("cannot tell the service manager \"READY=1\" through "
                                        "NOTIFY_SOCKET="),
            std::string::npos)
      << sent.error().message();
}

TEST(SdNotify, FromEnvironmentTakesTheVariablesAway) {
  tlsgate::test::TempDir tmp;
  auto path = (tmp.path() / "n.sock").string();
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto n = SdNotify::from_environment();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_TRUE(n->enabled());
  EXPECT_EQ(n->watchdog_interval(), std::chrono::microseconds(3000000));
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);

  // A watchdog meant for another process is not ours.
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", "1", 1);
  auto other = SdNotify::from_environment();
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->enabled());
  EXPECT_EQ(other->watchdog_interval(), std::nullopt);

  ::setenv("WATCHDOG_USEC", "soon", 1);
  auto bad = SdNotify::from_environment();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "WATCHDOG_USEC=\"soon\": not a positive number of microseconds");
}

}  // namespace
}  // namespace tlsgate::net
