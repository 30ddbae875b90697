// What a policy's context is built from, as a digest: a reload whose inputs
// are the same as those of the context served publishes an equal context,
// and says so (ReloadReport::changed false) instead of counting a new
// certificate that is the old one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.h"

namespace tlsgate::tls {

// SHA-256 of `text`, 64 lowercase hex digits.
std::string content_digest(std::string_view text);

// SHA-256 over the bytes of the files build_context() reads for `policy`:
// private_key, public_certificate, and each file of trusted_dir and
// revoked_dir (name and bytes, as the loaders list them). A missing or
// unreadable file counts as such. The settings are not in it (compare the
// Policy). nullopt when the files cannot tell: a key on a token (pkcs11:).
// Read before the build, so a file that changes during it differs next time.
std::optional<std::string> policy_inputs_digest(const config::Policy& policy);

}  // namespace tlsgate::tls
