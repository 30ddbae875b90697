// What a verb tells the person when a private key it reads is encrypted: the
// password_advice of pki::load_private_key and pki::convert, which know no
// option names. A verb with a password option names it; a verb without one
// says how to decrypt the key first.
#pragma once

#include <string>

namespace tlsgate::cli {

// "pass --key-password-file with a file that holds its password"
inline std::string pass_password_with(const std::string& option) {
  return "pass " + option + " with a file that holds its password";
}

// For a verb that reads KEY but takes no password for it. (`cert convert` keeps a key's
// encryption, so the way out is openssl's.)
inline std::string cannot_read_encrypted(const std::string& key) {
  return "this command cannot read an encrypted key: decrypt it first with `openssl pkey -in " +
         key + " -out PLAIN.key`";
}

}  // namespace tlsgate::cli
