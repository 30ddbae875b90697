// GateProcess: `tlsgate serve` run by a test, with its log in a file.
//
// The binary under test comes from $TLSGATE_BIN (set by ctest). The gate is
// a ChildProcess (support/process.h): every wait is bounded by a deadline,
// and the destructor stops it (SIGTERM, then SIGKILL after a bounded wait).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace tlsgate::test {

// A gate config file as key=value pairs, written in key order; a later
// set() of a key wins.
class GateConfig {
 public:
  GateConfig& set(const std::string& key, const std::string& value);
  GateConfig& erase(const std::string& key);
  std::string& operator[](const std::string& key) { return values_[key]; }
  std::string text() const;

 private:
  std::map<std::string, std::string> values_;
};

// `$TLSGATE_BIN serve -c DIR/tlsgate.conf --allow-root` (tests may run as
// root), its stderr in DIR/gate.log.
class GateProcess {
 public:
  // The binary under test ($TLSGATE_BIN); "" when unset.
  static std::string binary();

  // Writes config_text to dir/<name>.conf and starts the gate with it (and
  // `args` after `serve -c FILE --allow-root`).
  GateProcess(const std::filesystem::path& dir, const std::string& config_text,
              const std::string& name = "tlsgate", const std::vector<std::string>& args = {});
  // SIGTERM and a bounded wait (SIGKILL after it).
  ~GateProcess() = default;

  // Waits until 127.0.0.1:port accepts connections. Returns "" when it does,
  // else why not (with the log). The probe connection is closed at once
  // without sending a byte.
  std::string wait_listening(int port, Millis deadline = Millis(10000));
  // wait_listening(), then the "tlsgate serving" log line: the listener
  // accepts as soon as it is bound, a moment before the SIGTERM/SIGHUP
  // handlers are installed; after that line signals are safe to send.
  std::string wait_serving(int port, Millis deadline = Millis(10000));

  // SIGTERM, then waits up to deadline; the exit status, or nullopt.
  std::optional<int> terminate(Millis deadline = Millis(10000));
  std::optional<int> wait_exit(Millis deadline) { return child_->wait_exit(deadline); }
  bool running() { return child_->running(); }
  pid_t pid() const { return child_->pid(); }

  // The log so far (stderr of the gate).
  std::string log() const { return child_->output(); }
  bool wait_for_log(const std::string& needle, Millis deadline = Millis(5000)) const {
    return child_->wait_for_output(needle, deadline);
  }
  const std::filesystem::path& config_file() const { return config_file_; }
  // The config file and the log, for a failed test's output.
  std::string report() const;

 private:
  std::filesystem::path config_file_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace tlsgate::test
