// Making TCP connections: the one connect(2) with a deadline, for the
// blocking callers (ClientPool, fetch_peer_chain) and the gate's sessions.
//
// start_connect() and connect_result() are the two halves of a non-blocking
// connect; a Session waits for writability between them on its event loop.
// dial() and wait_ready() block the calling thread, bounded by a deadline;
// name resolution in dial() uses the system resolver and is not.
// Every socket made here is non-blocking and close-on-exec.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>

#include <tl/expected.hpp>

#include "config/settings.h"
#include "net/stream.h"
#include "util/fd.h"

namespace tlsgate::net {

using Deadline = std::chrono::steady_clock::time_point;

Deadline deadline_after(config::Seconds timeout);

// Waits until fd is ready for `want` (kWantRead or kWantWrite), or has an
// error that the next call on it reports; false when the deadline passed first.
bool wait_ready(int fd, Io want, Deadline deadline);

// A socket with connect(2) begun.
struct Connecting {
  util::Fd fd;  // invalid only when socket(2) failed
  int error =
      0;  // 0: connected; EINPROGRESS: wait for writability, then connect_result(); else errno
};
Connecting start_connect(const sockaddr* address, socklen_t length);

// Once a connecting socket is writable: 0 when it connected, else the errno of the failure.
int connect_result(int fd);

// Why dial() failed, for the caller's sentence (which names the peer's role).
struct DialError {
  bool resolving = false;  // the name did not resolve; else no address answered
  bool timed_out = false;  // the deadline passed before an address answered
  std::string reason;      // the resolver's or connect(2)'s words; "" when timed_out
};

// Resolves `peer` and connects to its addresses in turn until one answers,
// all before `deadline`. The connected socket.
tl::expected<util::Fd, DialError> dial(const config::HostPort& peer, Deadline deadline);

}  // namespace tlsgate::net
