// A SoftHSM token store for the tests of PKCS#11 keys (pki/pkcs11.h).
//
// softhsm() makes, once per test process, a temp folder with its own
// softhsm2.conf and token directory and points SOFTHSM2_CONF at it (for this
// process and every child it starts: the gate, pkcs11-tool), before any test
// loads the module. make_token() initialises a token with a user PIN and
// generates a key pair on it with pkcs11-tool (opensc). Nothing is skipped:
// without softhsm2 or opensc (scripts/install-deps.sh test) the helpers
// throw std::runtime_error and the test fails.
#pragma once

#include <filesystem>
#include <string>

#include "pki/handles.h"

namespace tlsgate::test {

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

struct SoftHsm {
  std::filesystem::path dir;       // holds softhsm2.conf and tokens/
  std::filesystem::path tokendir;  // directories.tokendir
  std::string module = kSoftHsmModule;
};

const SoftHsm& softhsm();

// A new token `label` (user PIN `pin`) holding the key pair `object` (id 01),
// `key_type` as pkcs11-tool spells it: "EC:prime256v1" or "rsa:2048".
// Returns the URI of its private key: pkcs11:token=LABEL;object=OBJECT;type=private.
std::string make_token(const std::string& label, const std::string& pin,
                       const std::string& object = "key",
                       const std::string& key_type = "EC:prime256v1");

// The folder of token `label` in tokendir (made by make_token in this process).
std::filesystem::path token_folder(const std::string& label);

// The public key of `object` on token `label`, read with pkcs11-tool (so the
// test process itself need not load the module): for issuing a certificate
// over a key that stays on the token.
pki::EvpPkeyPtr token_public_key(const std::string& label, const std::string& object = "key");

}  // namespace tlsgate::test
