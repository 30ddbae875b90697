// Loading certificates and CRLs from files or bytes (private keys:
// pki/private_key_loader.h).
//
// Every function names the file (source) in its errors and says what to do:
// a wrong password, a truncated or corrupted file, a PEM block of the wrong
// kind, an empty file. Formats accepted:
//   certificates  PEM (any number of CERTIFICATE / TRUSTED CERTIFICATE
//                 blocks, i.e. bundles) or DER (exactly one)
//   CRLs          PEM (any number of X509 CRL blocks) or DER (one)
// Text around PEM blocks is skipped, and so are blocks of other kinds when at
// least one block of the wanted kind is present (a key file may carry its
// certificate). Certificate and CRL errors (WHAT is "certificate" or "CRL"):
//   "FILE: empty file; expected a PEM or DER WHAT"
//   "FILE: truncated or corrupted WHAT: <openssl reason>"
//   "FILE: not a WHAT (found a PRIVATE KEY block)"
//   "FILE: not a PEM or DER WHAT (no -----BEGIN CERTIFICATE----- line); check
//    that this is the right file" (-----BEGIN X509 CRL----- for CRLs)
// Reading errors come from util::read_file ("FILE: no such file").
// All functions are thread-safe and touch only their arguments.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::pki {

enum class Encoding { kPem, kDer };

// PEM if the bytes contain "-----BEGIN ", else DER.
Encoding detect_encoding(std::string_view data);

// `source` is what errors call the input (usually the file path).
util::Result<std::vector<X509Ptr>> parse_certificates(std::string_view data,
                                                      const std::string& source);
util::Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& path);

util::Result<std::vector<X509CrlPtr>> parse_crls(std::string_view data, const std::string& source);
util::Result<std::vector<X509CrlPtr>> load_crls(const std::filesystem::path& path);

// A folder of trust anchors (trusted_dir) or CRLs (revoked_dir): every regular
// file (symlinks followed, dotfiles skipped) is parsed; a file that fails to
// parse is an error naming it. A missing folder is an error; an empty one is not.
// Files are read in name order. Errors: "DIR: no such folder; create it and put
// the trusted CA certificate files in it (it may stay empty)" (CRL files for
// revoked_dir), "DIR: not a folder; it must be a folder of ... files".
util::Result<std::vector<X509Ptr>> load_certificates_dir(const std::filesystem::path& dir);
// The files those loaders read, in that order; `what` names them in the
// errors above ("trusted CA certificate", "CRL").
util::Result<std::vector<std::filesystem::path>> folder_files(const std::filesystem::path& dir,
                                                              const char* what);
util::Result<std::vector<X509CrlPtr>> load_crls_dir(const std::filesystem::path& dir);

// load_crls_dir() that keeps the file each CRL came from (one entry per CRL,
// same order), so that messages about a CRL can name its file.
struct CrlFromFile {
  std::filesystem::path file;
  X509CrlPtr crl;
};
util::Result<std::vector<CrlFromFile>> load_crl_files_dir(const std::filesystem::path& dir);

// OK when key is the private half of cert's public key. Otherwise:
// "KEY_SOURCE does not match the certificate in CERT_SOURCE (SUBJECT); use the
// key the certificate was issued for, or reissue the certificate".
util::Status check_key_matches(const X509* cert, const EVP_PKEY* key,
                               const std::string& cert_source, const std::string& key_source);

}  // namespace tlsgate::pki
