// `tlsgate serve -c FILE [--expand-commands]`
#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "config/loader.h"
#include "net/gate.h"

namespace tlsgate::cli {
namespace {

struct Options {
  std::string config = "tlsgate.conf";
  bool expand_commands = false;
};

void setup_logging(const config::Server& server) {
  auto logger = spdlog::stderr_logger_mt("tlsgate");
  if (server.log_format == config::LogFormat::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%v"})");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
  }
  switch (server.log_level) {
    case config::LogLevel::kError:
      logger->set_level(spdlog::level::err);
      break;
    case config::LogLevel::kWarn:
      logger->set_level(spdlog::level::warn);
      break;
    case config::LogLevel::kInfo:
      logger->set_level(spdlog::level::info);
      break;
    case config::LogLevel::kDebug:
      logger->set_level(spdlog::level::debug);
      break;
  }
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

int run_serve(const Options& o) {
  auto loaded = config::load_config(o.config, config::current_environment());
  for (const auto& d : loaded.diagnostics) {
    bool warning = d.severity == config::Diagnostic::Severity::kWarning;
    std::fprintf(stderr, "%s%s\n", warning ? "warning: " : "", config::format(d).c_str());
  }
  if (!loaded.ok())
    return report_error(o.config + ": the configuration has errors; nothing was started", kUsage);
  if (loaded.config->connectors.empty()) {
    return report_error(
        o.config + ": no connector.<name>.listen_address is set, so there is nothing to serve",
        kUsage);
  }
  setup_logging(loaded.config->server);
  auto gate = net::Gate::create(*loaded.config, {o.expand_commands, true});
  if (!gate) return report_error(gate.error().message(), kUsage);
  return (*gate)->run();
}

}  // namespace

void add_serve(CLI::App& app, Outcome& out) {
  auto opts = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("serve", "Run the gate: terminate and originate TLS for the connectors");
  cmd->add_option("-c,--config", opts->config, "Config file")->capture_default_str();
  cmd->add_flag("--expand-commands", opts->expand_commands,
                "Allow private_key_password=$(command) to run its command");
  cmd->callback([opts, &out] { out.code = run_serve(*opts); });
}

}  // namespace tlsgate::cli
