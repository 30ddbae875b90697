// Loading private keys from files or bytes: PEM PKCS#1 (RSA/EC PRIVATE KEY),
// PKCS#8 (PRIVATE KEY), encrypted PKCS#8 (ENCRYPTED PRIVATE KEY), or DER
// PKCS#8/PKCS#1. Text around PEM blocks is skipped, and so are blocks of
// other kinds (a key file may carry its certificate). The password is
// handed to OpenSSL only through a callback and never copied into errors.
// Thread-safe; touches only its arguments.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

// PASSWORD_ADVICE says how the person supplies the password of an encrypted
// key, in the words of the caller's interface, since pki knows no config key
// or command-line option: "set ssl.policy.bolt.private_key_password", "pass
// --key-password-file with a file that holds its password", or, for a caller
// with no way to take one, how to decrypt the key first.
// Errors: "FILE: the private key is encrypted; PASSWORD_ADVICE" (without
// advice: "FILE: the private key is encrypted and no password was given for
// it"), "FILE: wrong password for the encrypted private key",
// "FILE: not a private key (found a CERTIFICATE block)", "FILE: truncated or
// corrupted private key: <openssl reason>"; also "FILE: empty file; expected a
// PEM or DER private key", "FILE: not a private key (found a DER certificate)",
// "FILE: an OpenSSH private key is not supported; convert it with
// `ssh-keygen -p -m PKCS8 -f FILE`". A password given for a plain key is ignored.
util::Result<EvpPkeyPtr> parse_private_key(std::string_view data, const std::string& source,
                                           const std::optional<util::Secret>& password,
                                           std::string_view password_advice = {});
util::Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path,
                                          const std::optional<util::Secret>& password,
                                          std::string_view password_advice = {});

}  // namespace tlsgate::pki
