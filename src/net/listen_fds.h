// Listening sockets handed over by systemd socket activation
// (sd_listen_fds(3), the documented protocol, without libsystemd): when
// LISTEN_PID is this process, LISTEN_FDS=n means fds 3 .. 3+n-1 are open
// sockets. A connector whose listen_address equals one's bound address uses
// it instead of binding, so the unit (tlsgate.socket) may hold ports under
// 1024 and the gate needs no capability.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "util/fd.h"

namespace tlsgate::net {

class InheritedSockets {
 public:
  // Reads and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (a child must
  // not take them for its own); none when LISTEN_PID names another process.
  // The fds become close-on-exec.
  static InheritedSockets from_environment();

  // The stream socket bound to exactly `endpoint`, handed over (invalid when
  // there is none).
  util::Fd take(const boost::asio::ip::tcp::endpoint& endpoint);

  // Closes what nobody took; their bound addresses, for a warning.
  std::vector<std::string> close_unused();

  bool empty() const { return fds_.empty(); }

 private:
  std::vector<util::Fd> fds_;
};

}  // namespace tlsgate::net
