#include "cluster/local_host.h"

#include <algorithm>

#include "pki/certificate_info.h"
#include "pki/loader.h"

namespace tlsgate::cluster {
namespace {

struct Served {
  std::string serial;
  std::optional<util::SystemTime> not_after;
};

Served read_served(const std::filesystem::path& certificate, const util::Clock& clock) {
  auto certs = pki::load_certificates(certificate);
  if (!certs || certs->empty()) return {};
  auto info = pki::describe((*certs)[0].get(), clock);
  return {info.serial_hex, info.not_after};
}

}  // namespace

std::vector<std::string> listen_hosts(const config::Config& config, const std::string& scope) {
  std::vector<std::string> hosts;
  for (const auto& [name, c] : config.connectors) {
    if (c.tls_level == config::TlsLevel::kDisabled || c.ssl_policy != scope) continue;
    const auto& h = c.listen_address.host;
    if (h.empty() || h == "0.0.0.0" || h == "::") continue;
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  return hosts;
}

util::Result<LocalHost::ScopeFacts> FilesHost::facts(const std::string& scope) {
  auto it = config_.policies.find(scope);
  if (it == config_.policies.end()) {
    return util::fail("policy " + scope +
                      " is in cluster.scopes but not configured on this node; configure "
                      "ssl.policy." +
                      scope + ".*");
  }
  ScopeFacts f;
  f.target.policy = it->second;
  f.target.listen_hosts = listen_hosts(config_, scope);
  for (const auto& [name, c] : config_.connectors) {
    if (c.tls_level != config::TlsLevel::kDisabled && c.ssl_policy == scope)
      f.target.serves_clients = true;
  }
  f.target.expand_commands = expand_commands_;
  auto served = read_served(it->second.public_certificate, clock_);
  f.serial = served.serial;
  f.not_after = served.not_after;
  return f;
}

util::Result<std::string> FilesHost::reload(const std::string& scope) {
  auto it = config_.policies.find(scope);
  if (it == config_.policies.end()) return util::fail("policy " + scope + " is not configured");
  return read_served(it->second.public_certificate, clock_).serial;
}

}  // namespace tlsgate::cluster
