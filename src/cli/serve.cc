// `tlsgate serve -c FILE [--expand-commands] [--allow-root]`
#include <unistd.h>

#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "acme/gate_host.h"
#include "acme/manager.h"
#include "admin/admin_server.h"
#include "cli/command.h"
#include "cli/log_formatter.h"
#include "cli/serve_support.h"
#include "cluster/runtime.h"
#include "config/loader.h"
#include "net/gate.h"
#include "net/sd_notify.h"
#include "tls/config_audit.h"
#include "util/fd_limit.h"

namespace tlsgate::cli {
namespace {

struct ServeOptions {
  std::string config = "tlsgate.conf";
  bool expand_commands = false;
  bool allow_root = false;
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

// systemd (Type=notify) hears READY=1 once every listener is open and every
// policy loaded, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 when
// the drain starts; a failed notification costs a log line, never the gate.
void tell(const net::SdNotify& notify, net::GateEvent event) {
  util::Status sent;
  switch (event) {
    case net::GateEvent::kServing:
      sent = notify.send("READY=1\nSTATUS=serving");
      break;
    case net::GateEvent::kReloading:
      sent = notify.send_reloading();
      break;
    case net::GateEvent::kReloaded:
      sent = notify.send("READY=1\nSTATUS=serving (reloaded)");
      break;
    case net::GateEvent::kStopping:
      sent = notify.send("STOPPING=1\nSTATUS=draining");
      break;
  }
  if (!sent) spdlog::warn("{}", sent.error().message());
}

int run_serve(const ServeOptions& o) {
  if (::geteuid() == 0 && !o.allow_root) {
    return report_error(
        "tlsgate serve will not run as root: it parses what any client on the network sends, "
        "and a flaw there would hand the whole machine to that client; run it as an "
        "unprivileged user (the packaged systemd unit runs it as user tlsgate, with "
        "CAP_NET_BIND_SERVICE for ports under 1024), or pass --allow-root if you accept the risk",
        kUsage);
  }
  // Read (and removed from the environment) before any thread starts.
  auto notify = net::SdNotify::from_environment();
  if (!notify) return report_error(notify.error().message(), kUsage);
  // The values only OpenSSL can judge are config errors too, located and
  // worded as `check` words them, before any context is built.
  auto loaded = tls::load_config_checked(o.config, config::current_environment());
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
  if (auto unmet = serve_requirements(*loaded.config); !unmet.empty()) {
    for (const auto& d : unmet) report_error(config::format(d), kUsage);
    return kUsage;
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
  if (auto made = acme::make_policy_folders(*loaded.config); !made) {
    return report_error(made.error().message(), kUsage);
  }
  auto gate = net::Gate::create(*loaded.config, {o.expand_commands, true});
  if (!gate) return report_error(start_error(*loaded.config, gate.error().message()), kUsage);
  for (const auto& d : start_warnings(*loaded.config)) {
    spdlog::warn("{} (tlsgate check reports this as an error)", config::format(d));
  }
  acme::GateHost acme_host(**gate);
  auto acme = acme::Manager::create(*loaded.config, acme_host, {},
                                    cluster ? &cluster->acme_link() : nullptr);
  if (!acme) return report_error(acme.error().message(), kUsage);
  // The admin listeners live on the gate's control loop; they serve once
  // run() runs it, and are closed before the gate goes.
  std::unique_ptr<admin::AdminServer> admin_server;
  if (loaded.config->admin.enabled) {
    admin::AdminServerOptions options;
    options.version = TLSGATE_VERSION;
    options.expand_commands = o.expand_commands;
    options.cluster = cluster.get();
    options.acme = acme->get();
    auto created = admin::AdminServer::create(**gate, loaded.config->admin, options);
    if (!created) {
      return report_error(start_error(*loaded.config, created.error().message()), kUsage);
    }
    admin_server = std::move(*created);
  }
  (*gate)->on_event([&n = *notify](net::GateEvent e) { tell(n, e); });
  notify->start_watchdog((*gate)->control_loop());
  // The node's and ACME's threads act on the gate: started last, so that no early
  // return above leaves them running on a gate that is gone.
  if (cluster) cluster->attach(**gate);
  if (*acme) (*acme)->start();
  int code = (*gate)->run();
  if (*acme) (*acme)->stop();  // before the gate whose listeners answer its challenges
  admin_server.reset();
  if (cluster) cluster->stop();  // before the gate it acts on goes
  return code;
}

}  // namespace

void add_serve(CLI::App& app, Outcome& out) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd =
      app.add_subcommand("serve", "Run the gate: terminate and originate TLS for the connectors");
  cmd->add_option("-c,--config", opts->config, "Config file")->capture_default_str();
  cmd->add_flag("--expand-commands", opts->expand_commands,
                "Allow private_key_password=$(command) to run its command");
  cmd->add_flag("--allow-root", opts->allow_root,
                "Run even as root (refused otherwise: run as an unprivileged user)");
  cmd->callback([opts, &out] { out.code = run_serve(*opts); });
}

}  // namespace tlsgate::cli
