// SdNotify: tells a service manager what the process is doing, by the
// datagram protocol of sd_notify(3) — systemd's Type=notify — without
// linking libsystemd.
//
// A notification is one AF_UNIX SOCK_DGRAM datagram of newline-separated
// KEY=VALUE lines ("READY=1", "RELOADING=1\nMONOTONIC_USEC=…", "STOPPING=1",
// "WATCHDOG=1", "STATUS=…") sent to the socket $NOTIFY_SOCKET names: a path
// ("/run/systemd/notify") or an abstract name ("@name"). from_environment()
// reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from
// the environment, so that the commands the gate runs
// (private_key_password=$(command)) cannot speak for it; call it before any
// thread starts. Without NOTIFY_SOCKET the notifier is disabled and every
// send() succeeds doing nothing, so callers need no `if`.
//
// send() may be called from any thread (one sendto(2) per call, on a socket
// that is only read after construction). start_watchdog() runs on the loop it
// is given; the notifier must outlive that loop's run().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace boost::asio {
class io_context;
}

namespace tlsgate::net {

class SdNotify {
 public:
  // The environment as systemd sets it for a Type=notify service. Fails
  // when NOTIFY_SOCKET is set but cannot be used (an address that is neither
  // a path nor "@name", or too long), naming the value.
  static util::Result<SdNotify> from_environment();
  // A notifier for an explicit address ("" = disabled); for tests.
  static util::Result<SdNotify> create(const std::string& address,
                                       std::optional<std::chrono::microseconds> watchdog = {});

  bool enabled() const { return socket_.valid(); }
  // Sends `state` (lines without a trailing newline) as one datagram. Fails
  // with errno's words and the socket's name when the manager is not there.
  util::Status send(std::string_view state) const;
  // "RELOADING=1" with the MONOTONIC_USEC systemd 253+ asks for (older
  // managers ignore the extra line).
  util::Status send_reloading() const;

  // WATCHDOG_USEC, when it was set for this process (WATCHDOG_PID absent or
  // ours).
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }
  // Sends WATCHDOG=1 from `loop` every half watchdog interval, so a control
  // loop that stops turning gets the service restarted. No-op without a
  // watchdog. The timer ends when the loop is stopped or destroyed.
  void start_watchdog(boost::asio::io_context& loop) const;

 private:
  SdNotify() = default;
  util::Fd socket_;
  std::string address_;  // as given, for messages
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace tlsgate::net
