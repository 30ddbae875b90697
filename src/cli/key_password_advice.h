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

// For a verb that reads a key but takes no password for it; the message names the key's
// file before this. (`cert convert` keeps a key's encryption, so the way out is openssl's.)
inline std::string cannot_read_encrypted() {
  return "this command cannot read an encrypted key: give it a decrypted copy (`openssl pkey "
         "-in KEY -out PLAIN.key` asks for the password)";
}

// The CA key of `cert issue|sign|crl|revoke --ca DIR`, read from DIR/ca.key.
inline std::string ca_key_cannot_be_encrypted() {
  return "the CA folder's ca.key must hold the key decrypted (`openssl pkey -in ca.key -out "
         "ca.key.plain` asks for the password; move it into place, mode 0600)";
}

}  // namespace tlsgate::cli
