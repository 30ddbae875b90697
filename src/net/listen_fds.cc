#include "net/listen_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "util/env.h"

namespace tlsgate::net {
namespace {

using util::take_env;

constexpr int kFirstListenFd = 3;  // SD_LISTEN_FDS_START
constexpr long kMaxListenFds = 1024;

long parse_positive(const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  return text.empty() || *end != '\0' || v <= 0 ? 0 : v;
}

// The local address of a TCP stream socket, or nullopt for anything else.
std::optional<boost::asio::ip::tcp::endpoint> bound_endpoint(int fd) {
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) {
    return std::nullopt;
  }
  boost::asio::ip::tcp::endpoint endpoint;
  socklen_t len = static_cast<socklen_t>(endpoint.capacity());
  if (::getsockname(fd, endpoint.data(), &len) != 0) return std::nullopt;
  auto family = endpoint.data()->sa_family;
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  endpoint.resize(len);
  return endpoint;
}

}  // namespace

InheritedSockets InheritedSockets::from_environment() {
  std::string pid = take_env("LISTEN_PID");
  std::string count = take_env("LISTEN_FDS");
  take_env("LISTEN_FDNAMES");
  InheritedSockets out;
  if (parse_positive(pid) != ::getpid()) return out;
  long n = std::min(parse_positive(count), kMaxListenFds);
  for (int fd = kFirstListenFd; fd < kFirstListenFd + n; ++fd) {
    // Only listening TCP sockets: a wrong LISTEN_FDS must not make us own
    // (and later close) a descriptor the process opened for itself.
    int listening = 0;
    socklen_t len = sizeof listening;
    if (!bound_endpoint(fd) || ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        listening == 0) {
      continue;
    }
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) continue;
    out.fds_.emplace_back(fd);
  }
  return out;
}

util::Fd InheritedSockets::take(const boost::asio::ip::tcp::endpoint& endpoint) {
  for (auto& fd : fds_) {
    if (!fd.valid()) continue;
    auto bound = bound_endpoint(fd.get());
    if (bound && *bound == endpoint) return std::move(fd);
  }
  return {};
}

std::vector<std::string> InheritedSockets::close_unused() {
  std::vector<std::string> out;
  for (auto& fd : fds_) {
    if (!fd.valid()) continue;
    auto bound = bound_endpoint(fd.get());
    out.push_back(
        bound ? fmt::format("fd {} ({})", fd.get(),
                            bound->address().to_string() + ":" + std::to_string(bound->port()))
              : fmt::format("fd {}", fd.get()));
    fd.reset();
  }
  fds_.clear();
  return out;
}

}  // namespace tlsgate::net
