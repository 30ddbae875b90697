// The private key a policy names: a PEM/DER file, or a key on a PKCS#11
// token when private_key is a pkcs11: URI (pki/pkcs11.h; the module from
// pkcs11_module, the PIN from private_key_password). The gate, reloads and
// `check` all load it here, so they agree on where it comes from and on the
// messages. Control path; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "config/settings.h"
#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::tls {

// Errors are those of pki::load_private_key / pki::load_pkcs11_key (never the PIN).
util::Result<pki::EvpPkeyPtr> load_policy_key(const config::Policy& policy,
                                              const std::optional<util::Secret>& password);

// How messages name the key: its path, or the URI without any PIN in it.
std::string policy_key_source(const config::Policy& policy);

// What to do about an encrypted key of this policy ("set ssl.policy.S.private_key_password"):
// the password_advice of pki::load_private_key.
std::string policy_key_password_advice(const config::Policy& policy);

}  // namespace tlsgate::tls
