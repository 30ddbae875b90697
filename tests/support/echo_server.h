// EchoServer: a TCP echo backend on 127.0.0.1 for the gate's tests.
//
// Every connection gets back exactly the bytes it sends; when the client
// half-closes (FIN), the echo finishes writing and half-closes too. It
// listens on a port the kernel chose (port 0). One thread accepts, one
// thread per connection echoes; every blocking call polls with a short
// timeout and checks the stop flag, so the destructor ends everything
// within about 100 ms. The counters may be read from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tlsgate::test {

class EchoServer {
 public:
  EchoServer();  // throws std::runtime_error when it cannot listen
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Bytes echoed back, over all connections.
  long long echoed_bytes() const { return echoed_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<long long> echoed_{0};
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace tlsgate::test
