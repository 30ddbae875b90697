#include "config/settings.h"

#include <algorithm>
#include <cctype>

#include "config/enum_names.h"
#include "util/strings.h"

namespace tlsgate::config {

std::string to_string(ClientAuth v) { return detail::spelling(v); }
std::string to_string(TlsLevel v) { return detail::spelling(v); }
std::string to_string(Protocol v) { return detail::spelling(v); }
std::string to_string(IdentityFrom v) { return detail::spelling(v); }
std::string to_string(RevocationChecks v) { return detail::spelling(v); }
std::string to_string(StaleCrl v) { return detail::spelling(v); }
std::string to_string(ProxyProtocol v) { return detail::spelling(v); }
std::string to_string(LogLevel v) { return detail::spelling(v); }
std::string to_string(LogFormat v) { return detail::spelling(v); }
std::string to_string(AcmeChallenge v) { return detail::spelling(v); }
std::string to_string(AcmeKeyType v) { return detail::spelling(v); }

bool is_pkcs11_uri(const std::filesystem::path& private_key) {
  const std::string& s = private_key.native();
  static constexpr std::string_view kScheme = "pkcs11:";
  if (s.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != kScheme[i]) return false;
  }
  return true;
}

std::string to_string(const HostPort& hp) {
  // An IPv6 literal needs brackets, or its colons would swallow the port's.
  bool bracket = hp.host.find(':') != std::string::npos;
  std::string host = bracket ? "[" + hp.host + "]" : hp.host;
  return host + ":" + std::to_string(hp.port);
}

bool is_any_address(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "*";
}

Location Config::where(const std::string& key) const {
  if (auto it = origins.find(key); it != origins.end()) return it->second;
  return Location{source.empty() ? file.string() : source, 0};
}

std::vector<std::string> acme_identifiers(const Config& config, const std::string& scope) {
  auto policy = config.policies.find(scope);
  if (policy == config.policies.end()) return {};
  if (!policy->second.acme_names.empty()) return policy->second.acme_names;
  std::vector<std::string> names;
  for (const auto& [name, conn] : config.connectors) {
    const auto& host = conn.listen_address.host;
    if (conn.ssl_policy != scope || conn.tls_level == TlsLevel::kDisabled) continue;
    if (is_any_address(host)) continue;
    auto same = [&](const std::string& n) { return util::iequals(n, host); };  // DNS: any case
    if (std::none_of(names.begin(), names.end(), same)) names.push_back(host);
  }
  return names;
}

}  // namespace tlsgate::config
