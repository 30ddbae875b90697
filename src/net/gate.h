// Gate: the data path of `tlsgate serve` — listeners, workers and sessions.
//
// create() builds every context the config's connectors need (failing with
// the first error, naming key and file) and binds every listen address on
// each worker with SO_REUSEPORT; nothing is served until all of that worked.
// run() serves on `server.worker_threads` threads (each its own Asio event
// loop) until SIGTERM/SIGINT or stop(), then drains: listeners close at
// once, live connections get up to `server.shutdown_timeout` to finish, the
// rest are closed. run() returns 0 after a clean drain, 1 when connections
// had to be cut. stop() may be called from any thread.
#pragma once

#include <memory>
#include <vector>

#include "config/settings.h"
#include "net/connector_runtime.h"
#include "util/result.h"

namespace tlsgate::net {

struct GateOptions {
  bool expand_commands = false;
  bool handle_signals = true;  // install SIGTERM/SIGINT handlers in run()
};

class Gate {
 public:
  static util::Result<std::unique_ptr<Gate>> create(const config::Config& config,
                                                    const GateOptions& options);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  int run();
  void stop();

  const std::vector<std::unique_ptr<ConnectorRuntime>>& connectors() const;

 private:
  struct Impl;
  explicit Gate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::net
