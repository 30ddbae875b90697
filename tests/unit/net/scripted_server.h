// ScriptedServer: a TCP server on 127.0.0.1 (or ::1), port 0, that plays a
// script on every connection it accepts: well-behaved HTTP or the hostile
// servers the HTTP client must survive (garbage, endless bodies and headers,
// silence, a slow drip). Plain sockets, no Asio: the client under test must
// not share anything with its opponent.
//
// Each connection runs its script on a thread of its own. Every wait in a
// script (read, send, pause) also watches the server's stop signal, so the
// destructor ends every script promptly: it signals stop, then joins. Not
// copyable; the port is ready once the constructor returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/fd.h"

namespace tlsgate::net::test {

using Millis = std::chrono::milliseconds;

class ScriptedServer {
 public:
  // What a script works with: one accepted connection.
  class Connection {
   public:
    Connection(ScriptedServer& server, util::Fd fd) : server_(server), fd_(std::move(fd)) {}
    // The request's head and its Content-Length body; "" when the client
    // closed first, the server stops, or 5 s pass.
    std::string read_request();
    // Sends all of data; false once the client is gone or the server stops.
    bool send(std::string_view data);
    // Waits `ms`; false when the server stops first.
    bool pause(Millis ms);
    // Waits until the client closes its side (EOF or reset), reading and
    // dropping what it sends; false when the server stops first.
    bool wait_client_close();

   private:
    // poll() on the socket and the stop signal; true when the socket is ready.
    bool wait(short events, Millis limit);
    ScriptedServer& server_;
    util::Fd fd_;
  };
  using Script = std::function<void(Connection&)>;

  explicit ScriptedServer(Script script, bool ipv6 = false);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  uint16_t port() const { return port_; }
  // The requests read_request() returned so far, in order.
  std::vector<std::string> requests() const;
  // Connections accepted, and those whose script has returned.
  size_t accepted() const;
  size_t finished() const;
  // Waits until `count` requests were read; false at the deadline.
  bool wait_for_requests(size_t count, Millis deadline) const;
  // Waits until `count` scripts have returned; false at the deadline.
  bool wait_for_finished(size_t count, Millis deadline) const;

 private:
  void accept_loop();
  void record(std::string request);

  Script script_;
  uint16_t port_ = 0;  // before listener_: listen_on() sets it
  util::Fd listener_;
  util::Fd stop_read_, stop_write_;  // a pipe: written once, by the destructor
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::string> requests_;     // guarded by mutex_
  size_t accepted_ = 0, finished_ = 0;    // guarded by mutex_
  std::vector<std::thread> connections_;  // accept thread only
  std::thread acceptor_;
};

}  // namespace tlsgate::net::test
