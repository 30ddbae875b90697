// Helpers shared by the `cert` verbs: the CA folder, passwords, JSON and
// text renderings of certificates. Used only inside cli.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/handles.h"
#include "pki/issuer.h"
#include "pki/revocation_index.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::cli {

// --rsa and --key-format, as `cert issue` and `cert csr` take them.
struct KeyOptions {
  int rsa_bits = 0;  // 0: ECDSA P-256
  std::string format = "pkcs8";
};
void add_key_options(CLI::App& cmd, KeyOptions& key);
// The key to make and how to write it; a usage error for a bad --rsa, an
// unknown format, or pkcs1 for a new ECDSA key (with --reuse-key the
// existing key decides, and writing it says so).
struct KeyChoice {
  pki::KeySpec spec;
  pki::KeyFormat format = pki::KeyFormat::kPkcs8;
};
util::Result<KeyChoice> choose_key(const KeyOptions& key, bool reuse_key);

struct CaMaterial {
  std::vector<pki::X509Ptr> certs;  // ca.crt: the issuing CA first, then its chain
  pki::EvpPkeyPtr key;              // ca.key
};
// Reads DIR/ca.crt and DIR/ca.key (as `cert ca --out DIR` wrote them); ca.crt
// must be a CA certificate (basicConstraints CA:TRUE).
util::Result<CaMaterial> load_ca_dir(const std::filesystem::path& dir);

// A CA key on a PKCS#11 token instead of DIR/ca.key (`--ca-key pkcs11:...`).
struct TokenCaKey {
  std::string uri;                                // RFC 7512, names the CA's private key
  std::filesystem::path module;                   // --pkcs11-module, else $PKCS11_MODULE
  std::optional<std::filesystem::path> pin_file;  // --pin-file; else $PKCS11_PIN if set
};
// Reads DIR/ca.crt and opens the CA key on the token; checks they match.
util::Result<CaMaterial> load_ca_with_token_key(const std::filesystem::path& dir,
                                                const TokenCaKey& key);

// An error when `path` exists and `force` is not set: no verb replaces a file
// (a key, a CA's, a key store) unless told to. `what` names the option that
// chose the path, for the message.
util::Status refuse_existing(const std::filesystem::path& path, bool force,
                             const std::string& what);

// The CA folder's revocation index, DIR/revocations.txt (format: pki/revocation_index.h);
// none when the file does not exist.
util::Result<std::vector<pki::Revocation>> load_revocations(const std::filesystem::path& ca_dir);

struct CrlTargets {
  std::filesystem::path out;                          // where the PEM CRL goes (DIR/ca.crl)
  std::optional<std::filesystem::path> install_into;  // a policy's revoked/ folder, also written
  int days = 7;                                       // nextUpdate = now + days
};
struct PublishedCrl {
  uint64_t number = 0;
  size_t entries = 0;
  util::SystemTime next_update;
  std::vector<std::filesystem::path> written;
};
// Signs a CRL of every entry of the index with the next CRL number and writes it atomically
// (0644) to targets.out and, with install_into, to INSTALL_INTO/<CA folder name>.crl (both or
// neither). Everything that can be checked beforehand is (each folder exists and is writable,
// install_into is a folder, DIR/crlnumber parses), so a failed run leaves DIR/crlnumber as it
// was. The number is stored once the CRL is signed and before it is written: a signed CRL
// whose write then fails (disk full) uses up its number — it existed in memory only — but no
// number is ever issued twice.
util::Result<PublishedCrl> publish_crl(const std::filesystem::path& ca_dir, const CaMaterial& ca,
                                       const std::vector<pki::Revocation>& index,
                                       const CrlTargets& targets);
// "N entries, CRL number K, next update T, written to A, B".
std::string describe(const PublishedCrl& crl);

// A password from FILE (first line, newline stripped), or, when no file is
// given and stdin is a terminal, from a prompt with echo off (asked twice when
// `confirm`). Without either: an error telling to pass --password-file.
util::Result<util::Secret> read_password(const std::optional<std::filesystem::path>& file,
                                         const std::string& prompt, bool confirm);

nlohmann::json to_json(const pki::CertificateInfo& info);
// The readable block `cert inspect` prints for one certificate.
std::string to_text(const pki::CertificateInfo& info);

}  // namespace tlsgate::cli
