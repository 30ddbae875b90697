#include "support/gate_process.h"

#include <signal.h>

#include <cstdlib>

#include "support/temp_dir.h"

namespace tlsgate::test {

GateConfig& GateConfig::set(const std::string& key, const std::string& value) {
  values_[key] = value;
  return *this;
}

GateConfig& GateConfig::erase(const std::string& key) {
  values_.erase(key);
  return *this;
}

std::string GateConfig::text() const {
  std::string out = "# written by a tlsgate test\n";
  for (const auto& [k, v] : values_) out += k + "=" + v + "\n";
  return out;
}

std::string GateProcess::binary() {
  const char* bin = std::getenv("TLSGATE_BIN");  // NOLINT(concurrency-mt-unsafe)
  return bin == nullptr ? std::string() : std::string(bin);
}

GateProcess::GateProcess(const std::filesystem::path& dir, const std::string& config_text,
                         const std::string& name, const std::vector<std::string>& args)
    : config_file_(dir / (name + ".conf")) {
  if (binary().empty()) throw std::runtime_error("TLSGATE_BIN is not set (run through ctest)");
  write_text(config_file_, config_text, 0644);
  // Tests run as root on CI machines; serve refuses that without --allow-root.
  std::vector<std::string> argv{binary(), "serve", "-c", config_file_.string(), "--allow-root"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ = std::make_unique<ChildProcess>(
      argv, ChildProcess::Options{.output_file = dir / (name + ".log")});
}

std::string GateProcess::wait_listening(int port, Millis deadline) {
  if (child_->wait_for_port(port, deadline)) return "";
  std::string why =
      child_->running()
          ? "did not listen on 127.0.0.1:" + std::to_string(port) + " in time"
          : "exited with status " + std::to_string(child_->exit_status().value_or(-1));
  return "tlsgate serve " + why + "\n" + report();
}

std::string GateProcess::wait_serving(int port, Millis deadline) {
  if (auto why = wait_listening(port, deadline); !why.empty()) return why;
  if (wait_for_log("tlsgate serving", deadline)) return "";
  return "tlsgate serve never logged \"tlsgate serving\"\n" + report();
}

std::optional<int> GateProcess::terminate(Millis deadline) {
  return child_->signal_and_wait(SIGTERM, deadline);
}

std::string GateProcess::report() const {
  std::string config;
  try {
    config = read_text(config_file_);
  } catch (const std::exception& e) {
    config = e.what();
  }
  return "--- " + config_file_.string() + " ---\n" + config + "--- gate log ---\n" + log() +
         "--- end ---\n";
}

}  // namespace tlsgate::test
