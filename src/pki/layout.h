// The certificate folder layout of a policy (Neo4j's), created by `cert install`:
//   BASE/certificates/SCOPE/private.key   0400
//   BASE/certificates/SCOPE/public.crt    0644  (leaf, then chain)
//   BASE/certificates/SCOPE/trusted/      0755  (CA, or the certificate itself)
//   BASE/certificates/SCOPE/revoked/      0755
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

struct InstallRequest {
  std::string scope;
  std::filesystem::path cert;                // PEM/DER certificate (chain allowed)
  std::filesystem::path key;                 // private key
  std::optional<std::filesystem::path> ca;   // CA certificate(s) for trusted/; default: cert itself
  std::filesystem::path base = ".";          // folder that holds certificates/
  std::optional<util::Secret> key_password;  // for an encrypted key (checked, then copied as is)
  std::string key_password_advice;           // how to supply it (pki/private_key_loader.h)
};

// Validates (key matches cert, files parse, scope is a valid name, the
// certificate chains to the CA when one is given; validity dates are not
// checked) before writing anything; returns the policy folder. The key file
// is copied byte for byte (an encrypted key stays encrypted); certificates are
// written as PEM. Without a CA, trusted/ gets the leaf under the certificate's
// file name (extension .crt unless .pem/.crt already). Overwrites existing
// files atomically; a key file already 0400 is replaced, not chmod-ed around.
util::Result<std::filesystem::path> install(const InstallRequest& req);

}  // namespace tlsgate::pki
