#include "net/listen_failure.h"

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace tlsgate::net {

std::string listen_failure(const std::string& key, const config::HostPort& address, int error) {
  std::string fix;
  switch (error) {
    case EADDRINUSE:
      fix = fmt::format(
          "stop what uses it (`ss -ltnp 'sport = :{}'` names the process) or pick another port",
          address.port);
      break;
    case EADDRNOTAVAIL:
      fix = fmt::format(
          "this host has no address {}; use one of its addresses (`ip -brief address` lists "
          "them), or 0.0.0.0 / [::] for all",
          address.host);
      break;
    case EACCES:
      fix = address.port < 1024
                ? "ports below 1024 need CAP_NET_BIND_SERVICE (the packaged systemd unit grants "
                  "it) or root; or pick a port from 1024 up"
                : "pick another address";
      break;
    default:
      fix = "pick another address";
      break;
  }
  return fmt::format("{}: cannot listen on {}: {}; {}", key, config::to_string(address),
                     std::error_code(error, std::generic_category()).message(), fix);
}

}  // namespace tlsgate::net
