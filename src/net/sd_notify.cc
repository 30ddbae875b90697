#include "net/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include "util/env.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace {

using util::take_env;

struct UnixAddress {
  sockaddr_un addr{};
  socklen_t length = 0;
};

util::Result<UnixAddress> unix_address(const std::string& address) {
  UnixAddress out;
  out.addr.sun_family = AF_UNIX;
  // Abstract names keep their length exactly (no terminating NUL counts).
  bool abstract = address.front() == '@';
  if (!abstract && address.front() != '/') {
    return util::fail(fmt::format(
        "NOTIFY_SOCKET=\"{}\": not a socket path or an abstract \"@name\"; tlsgate speaks only "
        "the AF_UNIX form of the notify protocol",
        address));
  }
  if (address.size() >= sizeof(out.addr.sun_path)) {
    return util::fail(fmt::format("NOTIFY_SOCKET=\"{}\": longer than a socket address ({} bytes)",
                                  address, sizeof(out.addr.sun_path) - 1));
  }
  std::memcpy(out.addr.sun_path, address.data(), address.size());
  if (abstract) out.addr.sun_path[0] = '\0';
  out.length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + (abstract ? 0 : 1));
  return out;
}

void watchdog_tick(const SdNotify* n, const std::shared_ptr<boost::asio::steady_timer>& timer,
                   std::chrono::microseconds every) {
  timer->expires_after(every);
  timer->async_wait([n, timer, every](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto sent = n->send("WATCHDOG=1"); !sent) spdlog::warn("{}", sent.error().message());
    watchdog_tick(n, timer, every);
  });
}

}  // namespace

util::Result<SdNotify> SdNotify::from_environment() {
  std::string socket = take_env("NOTIFY_SOCKET");
  std::string usec = take_env("WATCHDOG_USEC");
  std::string pid = take_env("WATCHDOG_PID");
  std::optional<std::chrono::microseconds> watchdog;
  // A watchdog meant for another process (a wrapper that exec'd us under a
  // new pid would say so) is not ours to feed.
  bool ours = pid.empty() || pid == std::to_string(::getpid());
  if (!usec.empty() && ours) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(usec.c_str(), &end, 10);
    if (end == usec.c_str() || *end != '\0' || v == 0) {
      return util::fail("WATCHDOG_USEC=\"" + usec + "\": not a positive number of microseconds");
    }
    watchdog = std::chrono::microseconds(v);
  }
  return create(socket, watchdog);
}

util::Result<SdNotify> SdNotify::create(const std::string& address,
                                        std::optional<std::chrono::microseconds> watchdog) {
  SdNotify n;
  if (address.empty()) return n;
  auto where = unix_address(address);
  if (!where) return util::fail(where.error());
  n.socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!n.socket_.valid()) {
    return util::fail(fmt::format("NOTIFY_SOCKET=\"{}\": cannot create a datagram socket: {}",
                                  address, util::errno_text(errno)));
  }
  n.address_ = address;
  n.watchdog_ = watchdog;
  return n;
}

util::Status SdNotify::send(std::string_view state) const {
  if (!enabled()) return {};
  auto where = unix_address(address_);
  if (!where) return util::fail(where.error());
  ssize_t sent = 0;
  do {
    sent = ::sendto(socket_.get(), state.data(), state.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&where->addr), where->length);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    return util::fail(
        fmt::format("cannot tell the service manager \"{}\" through NOTIFY_SOCKET={}: {}",
                    state.substr(0, state.find('\n')), address_, util::errno_text(errno)));
  }
  return {};
}

util::Status SdNotify::send_reloading() const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
              static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  return send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec));
}

void SdNotify::start_watchdog(boost::asio::io_context& loop) const {
  if (!enabled() || !watchdog_) return;
  auto every = *watchdog_ / 2;
  watchdog_tick(this, std::make_shared<boost::asio::steady_timer>(loop), every);
}

}  // namespace tlsgate::net
