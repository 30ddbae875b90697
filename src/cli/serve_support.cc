#include "cli/serve_support.h"

#include <unistd.h>

#include "config/key_docs.h"
#include "tls/config_audit.h"
#include "util/clock.h"

namespace tlsgate::cli {

std::vector<config::Diagnostic> serve_requirements(const config::Config& config) {
  std::vector<config::Diagnostic> out;
  if (config.connectors.empty()) {
    out.push_back({config::Diagnostic::Severity::kError, config.where("connector"), "",
                   "no connector.<name>.listen_address is set, so there is nothing to serve",
                   "add connector.NAME.listen_address and connector.NAME.upstream_address"});
  }
  return out;
}

std::string start_error(const config::Config& config, const std::string& message) {
  auto colon = message.find(": ");
  if (colon == std::string::npos) return message;
  std::string key = message.substr(0, colon);
  if (key.find(' ') != std::string::npos || config::find_key_doc(key) == nullptr) return message;
  std::string problem = message.substr(colon + 2);
  // Only on this failure path: the audit reads every policy's files again.
  auto audit = tls::audit(config, util::SystemClock::instance(), {30, ::geteuid()});
  for (const auto& d : audit.findings) {
    if (d.severity == config::Diagnostic::Severity::kError && d.key == key &&
        d.problem == problem) {
      return config::format(d);
    }
  }
  return config::format(
      {config::Diagnostic::Severity::kError, config.where(key), key, problem, ""});
}

std::vector<config::Diagnostic> start_warnings(const config::Config& config) {
  auto audit = tls::audit(config, util::SystemClock::instance(), {30, ::geteuid()});
  std::vector<config::Diagnostic> out;
  for (auto& d : audit.findings) {
    if (d.severity != config::Diagnostic::Severity::kError) continue;
    const bool served_validity =
        d.key.ends_with(".public_certificate") &&
        (d.problem.find(" expired on ") != std::string::npos ||
         d.problem.find(" is not valid before ") != std::string::npos);
    if (!served_validity) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace tlsgate::cli
