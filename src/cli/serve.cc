// `tlsgate serve -c FILE [--expand-commands]`
#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "admin/admin_server.h"
#include "cli/command.h"
#include "cli/log_formatter.h"
#include "cluster/runtime.h"
#include "config/loader.h"
#include "net/gate.h"
#include "util/fd_limit.h"

namespace tlsgate::cli {
namespace {

struct Options {
  std::string config = "tlsgate.conf";
  bool expand_commands = false;
};

void setup_logging(const config::Server& server) {
  auto logger = spdlog::stderr_logger_mt("tlsgate");
  logger->set_formatter(std::make_unique<LogFormatter>(server.log_format));
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
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) {
      bool warning = d.severity == config::Diagnostic::Severity::kWarning;
      std::fprintf(stderr, "%s%s\n", warning ? "warning: " : "", config::format(d).c_str());
    }
    return report_error(o.config + ": the configuration has errors; nothing was started", kUsage);
  }
  // Warnings (keys not implemented yet, trust_all) go through the log, in its format.
  setup_logging(loaded.config->server);
  for (const auto& d : loaded.diagnostics) spdlog::warn("{}", config::format(d));
  if (loaded.config->connectors.empty()) {
    return report_error(
        o.config + ": no connector.<name>.listen_address is set, so there is nothing to serve",
        kUsage);
  }
  // Process limits are the application's, not the library's: as many
  // descriptors as the hard limit allows, before the gate opens any.
  if (auto raised = util::raise_fd_limit(); !raised) {
    spdlog::warn("cannot raise the file descriptor limit: {}", raised.error().message());
  }
  // A node that was down applies the replacements committed meanwhile to
  // its policy files before any listener opens (docs/CLUSTER.md).
  std::unique_ptr<cluster::ClusterRuntime> cluster;
  if (loaded.config->cluster.enabled) {
    auto connected = cluster::ClusterRuntime::connect(*loaded.config, o.expand_commands);
    if (!connected) return report_error(connected.error().message(), kUsage);
    cluster = std::move(*connected);
    if (auto caught_up = cluster->catch_up(); !caught_up) {
      spdlog::warn(
          "cluster: etcd did not answer before serving, so this node serves the certificates on "
          "disk and catches up once etcd answers: {}",
          caught_up.error().message());
    }
  }
  auto gate = net::Gate::create(*loaded.config, {o.expand_commands, true});
  if (!gate) return report_error(gate.error().message(), kUsage);
  if (cluster) cluster->attach(**gate);
  // The admin listeners live on the gate's control loop; they serve once
  // run() runs it, and are closed before the gate goes.
  std::unique_ptr<admin::AdminServer> admin_server;
  if (loaded.config->admin.enabled) {
    admin::AdminServerOptions options;
    options.version = TLSGATE_VERSION;
    options.expand_commands = o.expand_commands;
    options.cluster = cluster.get();
    auto created = admin::AdminServer::create(**gate, loaded.config->admin, options);
    if (!created) return report_error(created.error().message(), kUsage);
    admin_server = std::move(*created);
  }
  int code = (*gate)->run();
  admin_server.reset();
  if (cluster) cluster->stop();  // before the gate it acts on goes
  return code;
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
