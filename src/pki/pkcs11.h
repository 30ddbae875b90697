// Private keys that stay on a PKCS#11 token (an HSM, a smart card, SoftHSM),
// named by an RFC 7512 URI: pkcs11:token=LABEL;object=LABEL (also id=,
// serial=, manufacturer=, model=, type=private; percent-encoded values).
//
// load_pkcs11_key() returns an EVP_PKEY whose private operations are C_Sign
// calls on the token (libp11's RSA and EC methods): usable with
// SSL_CTX_use_PrivateKey, X509_sign and EVP_DigestSign, never exportable.
// Through OpenSSL 3.0 on Debian 12 this goes through libp11's PKCS11_* API
// (not its engine: the API says which step failed, the engine only prints
// to stderr). Each module is loaded once per process and never unloaded;
// for each (module, URI) the key is found once and kept, because releasing
// a libp11 slot closes every session of the process on that slot (the one a
// newer context signs with, too). A later load of the same URI checks the
// kept key with a test signature and returns it; if that fails (the token
// went away) the key is found again on a fresh slot list and the old one is
// retired (kept, never freed). When the module then no longer finds it and
// none of its keys signs any more, the module is restarted (C_Finalize,
// C_Initialize) while no thread signs, and asked again: SoftHSM, for one,
// shows a token that came back only then. (With several tokens on one
// module, one that comes back while another works needs a restart of the
// gate: a module restart would break the working keys' sessions.)
// Every later load of that URI does the same until the key is found. Each
// signature holds a shared lock for that (libp11's RSA and EC operations are
// wrapped once); libp11 keeps a pool of up to 16 sessions per slot, so one
// EVP_PKEY signs from several threads at once. PKCS#11 login is per process
// and token: once logged in, a later load is not refused for a wrong PIN.
// All functions are thread-safe.
//
// With pkcs11-provider (OpenSSL 3.x, not in Debian 12): the same URIs open
// through OSSL_STORE_open("pkcs11:...") with the provider loaded by name
// (pkcs11-module-path in its config); no libp11, no legacy methods, and
// RSA-PSS goes to the token as CKM_RSA_PKCS_PSS instead of a raw RSA
// (CKM_RSA_X_509) signature over OpenSSL's padding. Only pkcs11.cc changes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

// The text starts with "pkcs11:" (any case).
bool is_pkcs11_uri(std::string_view text);

struct Pkcs11Uri {
  std::string token;         // token label
  std::string object;        // key label
  std::string id;            // CKA_ID bytes (percent-decoded)
  std::string serial;        // token serial number
  std::string manufacturer;  // token manufacturer
  std::string model;         // token model
  std::string type;          // "private" or empty
  bool has_pin = false;      // a pin-value was given (ignored: use the PIN argument)
};

// Errors name the attribute: `pkcs11: "object" has a bad percent escape`.
util::Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text);

// The URI as given, with any pin-value / pin-source attribute removed (for messages).
std::string redact_pkcs11_uri(std::string_view text);

// The key the URI names on a token of `module`, logged in with `pin`.
// Errors: "cannot load the PKCS#11 module MODULE: ...", "URI: no token
// matches; the module has "a" (serial ...), ...", "URI: the token "t"
// refused the PIN given in PIN_ORIGIN", "URI: token "t" needs a PIN; give it
// in PIN_ORIGIN", "URI: no private key matches on token "t"; it holds "k1",
// "k2"", "URI: the token did not sign: ...". Messages never hold the PIN.
// A module path without a folder is searched for as dlopen() does.
util::Result<EvpPkeyPtr> load_pkcs11_key(std::string_view uri, const std::filesystem::path& module,
                                         const std::optional<util::Secret>& pin,
                                         const std::string& pin_origin = "private_key_password");

// Signs a fixed digest with `key`: Ok when the token answers. For reloads
// and `check`, which want to know the key can sign before they rely on it.
util::Status test_signature(const EVP_PKEY* key, const std::string& what);

}  // namespace tlsgate::pki
