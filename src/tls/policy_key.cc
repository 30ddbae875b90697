#include "tls/policy_key.h"

#include "pki/pkcs11.h"
#include "pki/private_key_loader.h"

namespace tlsgate::tls {

util::Result<pki::EvpPkeyPtr> load_policy_key(const config::Policy& policy,
                                              const std::optional<util::Secret>& password) {
  if (!config::is_pkcs11_uri(policy.private_key)) {
    return pki::load_private_key(policy.private_key, password, policy_key_password_advice(policy));
  }
  if (policy.pkcs11_module.empty()) {
    return util::fail(policy_key_source(policy) + ": a pkcs11: key needs ssl.policy." +
                      policy.scope + ".pkcs11_module, the path of the token's PKCS#11 module");
  }
  return pki::load_pkcs11_key(policy.private_key.native(), policy.pkcs11_module, password);
}

std::string policy_key_password_advice(const config::Policy& policy) {
  return "set ssl.policy." + policy.scope + ".private_key_password";
}

std::string policy_key_source(const config::Policy& policy) {
  if (config::is_pkcs11_uri(policy.private_key)) {
    return pki::redact_pkcs11_uri(policy.private_key.native());
  }
  return policy.private_key.string();
}

}  // namespace tlsgate::tls
