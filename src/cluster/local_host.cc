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

void add_listen_hosts(tls::PairTarget& target, const config::Config& config,
                      const std::string& scope) {
  // True when `h` was added (not a wildcard, not there yet).
  auto add = [&target](const std::string& h) {
    auto& hosts = target.listen_hosts;
    if (config::is_any_address(h) || std::find(hosts.begin(), hosts.end(), h) != hosts.end()) {
      return false;
    }
    hosts.push_back(h);
    return true;
  };
  for (const auto& [name, c] : config.connectors) {
    if (c.tls_level != config::TlsLevel::kDisabled && c.ssl_policy == scope) {
      add(c.listen_address.host);
    }
  }
  const auto& admin = config.admin;
  if (admin.enabled && admin.ssl_policy == scope && add(admin.listen_address.host)) {
    target.listen_host_keys.emplace(admin.listen_address.host, "admin.listen_address");
  }
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
  add_listen_hosts(f.target, config_, scope);
  for (const auto& [name, c] : config_.connectors) {
    if (c.tls_level != config::TlsLevel::kDisabled && c.ssl_policy == scope)
      f.target.serves_clients = true;
  }
  if (config_.admin.enabled && config_.admin.ssl_policy == scope) f.target.serves_clients = true;
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
