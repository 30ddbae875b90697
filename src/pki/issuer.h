// Issuing: key generation, CAs and leaf certificates (mkcert-style).
// CRLs are in pki/crl_issuer.h, SAN classification in pki/subject_names.h.
//
// Defaults follow current practice: ECDSA P-256 keys, SHA-256 signatures,
// random positive serials of 127 bits (16 random bytes, top bit clear, next set), a CA valid 10
// years, leaves valid 397 days (the public-web ceiling; databases rotate on the same cadence),
// notBefore backdated one hour for clock skew. Leaves carry SubjectKeyIdentifier,
// AuthorityKeyIdentifier, basicConstraints CA:FALSE (critical), keyUsage
// (critical) digitalSignature (+ keyEncipherment for RSA server certs) and
// extendedKeyUsage serverAuth, clientAuth and/or OCSPSigning (a delegated OCSP
// responder, which also gets id-pkix-ocsp-nocheck, RFC 6960 4.2.2.2.1), and on
// request Authority Information Access (OCSP) and CRL Distribution Points
// URLs. CAs carry CA:TRUE (critical) and keyCertSign, cRLSign.
//
// A leaf never outlives its CA and is never issued by a CA that is not valid
// now: issuing from an expired or not-yet-valid CA certificate is an error
// (check_ca_validity), and a leaf that would end after its CA ends on the CA's
// notAfter instead, with a warning. We cap rather than refuse: the days asked
// for (397 by default) are a ceiling, and a short-lived CA should still issue
// with the defaults; the warning makes the shorter life visible. An explicit
// window (not_before/not_after: the seam tests use for past and future
// certificates) is taken as given.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

struct KeySpec {
  enum class Type { kEcP256, kRsa };
  Type type = Type::kEcP256;  // ECDSA P-256 unless --rsa
  int rsa_bits = 2048;        // 2048, 3072 or 4096
};

// "--rsa BITS" value check: 2048, 3072 or 4096.
util::Result<KeySpec> rsa_key_spec(int bits);

util::Result<EvpPkeyPtr> generate_key(const KeySpec& spec);
// `existing` when set (a renewal that keeps its key and so its pin), else a new key of `spec`.
util::Result<EvpPkeyPtr> existing_or_new_key(const EvpPkeyPtr& existing, const KeySpec& spec);

// OK when a leaf may be issued for `key` (a reused key, a request's key): the keys tlsgate
// makes itself and TLS clients accept, RSA of at least 2048 bits and ECDSA on P-256, P-384 or
// P-521. Anything else is refused, not certified for a client to reject: RSA under 2048 bits,
// other curves (secp256k1, brainpool), and Ed25519/Ed448, DSA, RSA-PSS keys (tlsgate makes none
// of them, and most TLS clients refuse Ed25519 certificates). The error describes the key
// and the rule ("an RSA key of 1024 bits; tlsgate certifies only ..."); callers prefix the
// file and add what to do.
util::Status check_leaf_key(const EVP_PKEY* key);

// OK when url may go into an OCSP or CRL URL extension: http:// or https://,
// a host, at most 1024 characters, no spaces, commas or control characters.
// `option` names the setting in the error ("--ocsp-url \"x\": ...").
util::Status check_extension_url(const std::string& url, const std::string& option);

// OK when `name` can be a CA's subject CN as given: not blank, UTF-8 without control characters,
// at most 64 characters (ub-common-name, RFC 5280; a longer name is refused, never cut).
// `option` names the setting in the error ("--name \"\": ...").
util::Status check_common_name(const std::string& name, const std::string& option);

// OK when a certificate NAME (a SAN: DNS name, IP, email, URI) is UTF-8 without control
// characters; the error quotes it escaped. issue_certificate() applies it to every name, so a
// request cannot carry a name that breaks the lines that print it.
util::Status check_name_characters(const std::string& name);

// A leaf's subject CN: the first of `names` (trimmed) that fits in a CN (64 characters). A
// longer name, such as a 133-character DNS name, is in the subjectAltName only, where clients
// look (RFC 6125); it is never cut into a CN that names nothing. None fits: no CN (the subject
// is O=tlsgate alone).
std::optional<std::string> leaf_common_name(const std::vector<std::string>& names);

// OK when clock's now lies within the CA certificate's validity. Else an error naming
// `source` (the CA certificate's file), its dates and what to do.
util::Status check_ca_validity(const X509* ca_cert, const std::string& source,
                               const util::Clock& clock);

// Where issuing says what it changed (the notAfter cap). The default writes one line
// "tlsgate: warning: ..." to stderr, so a caller that sets none still tells the user.
using WarningSink = std::function<void(const std::string&)>;
void warn_on_stderr(const std::string& message);

struct CaRequest {
  std::string name = "tlsgate CA";  // subject CN (and O=tlsgate); check_common_name() applies
  KeySpec key;
  int days = 3650;
  std::optional<util::SystemTime> not_before;  // overrides clock - 1h (tests: past windows)
  std::optional<util::SystemTime> not_after;   // overrides not_before + days
  EvpPkeyPtr existing_key;  // the CA's key instead of a new one (e.g. a key on a token)
};

struct CertRequest {
  std::vector<std::string> names;  // SANs; the CN is leaf_common_name(names)
  bool server = true;              // serverAuth (also when neither client nor ocsp_signing is set)
  bool client = false;             // clientAuth
  bool ocsp_signing = false;       // OCSPSigning: a delegated OCSP responder of the CA
  std::vector<std::string> ocsp_urls;  // Authority Information Access, OCSP responders
  std::vector<std::string> crl_urls;   // CRL Distribution Points
  KeySpec key;
  int days = 397;  // capped at the CA's notAfter, with a warning
  std::optional<util::SystemTime> not_before;
  std::optional<util::SystemTime> not_after;
  std::string ca_source = "ca.crt";  // the CA certificate's file, for messages
  WarningSink on_warning = warn_on_stderr;
  EvpPkeyPtr existing_key;  // reuse this key instead of generating one (renewal with the same
                            // key); check_leaf_key() applies
};

struct Issued {
  X509Ptr cert;
  EvpPkeyPtr key;
};

struct SubjectNames;
// The subjectAltName value of classified names (DNS, then IP, email, URI).
util::Result<GeneralNamesPtr> make_general_names(const SubjectNames& names);

// keyUsage and extendedKeyUsage values (openssl.cnf syntax) for a leaf with `key`: what
// issue_certificate() writes, and what `cert csr` requests.
struct LeafUsages {
  std::string key_usage;           // "critical,digitalSignature[,keyEncipherment]"
  std::string extended_key_usage;  // "serverAuth,clientAuth"
};
LeafUsages leaf_usages(const EVP_PKEY* key, bool server, bool client, bool ocsp_signing);

util::Result<Issued> create_ca(const CaRequest& req, const util::Clock& clock);
util::Result<Issued> issue_certificate(const CertRequest& req, const X509* ca_cert,
                                       const EVP_PKEY* ca_key, const util::Clock& clock);

}  // namespace tlsgate::pki
