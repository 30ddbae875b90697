// PEM <-> DER conversion of certificates, private keys and CRLs (`cert convert`).
//
// The input's kind is detected: certificate(s), private key (any accepted
// form; an encrypted one needs its password), or CRL. DER output holds one
// object, so a PEM bundle of several certificates cannot become DER (error
// says so and suggests splitting). Converting PEM->DER->PEM reproduces the
// original PEM byte for byte for certificates and CRLs. Keys are written as
// PKCS#8; a key read with a password is written encrypted with that password
// (AES-256-CBC), so converting never strips a key's protection.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pki/loader.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

enum class ObjectKind { kCertificate, kPrivateKey, kCrl };

struct Converted {
  ObjectKind kind;
  std::string data;
};

// PASSWORD_ADVICE: how to supply the password of an encrypted key (see
// parse_private_key in pki/private_key_loader.h).
util::Result<Converted> convert(std::string_view input, const std::string& source, Encoding to,
                                const std::optional<util::Secret>& password = {},
                                std::string_view password_advice = {});

}  // namespace tlsgate::pki
