// Issuing: key generation, CAs, leaf certificates and CRLs (mkcert-style).
//
// Defaults follow current practice: ECDSA P-256 keys, SHA-256 signatures,
// random positive serials of 127 bits (16 random bytes, top bit clear, next set), a CA valid 10
// years, leaves valid 397 days (the public-web ceiling; databases rotate on the same cadence),
// notBefore backdated one hour for clock skew. Leaves carry SubjectKeyIdentifier,
// AuthorityKeyIdentifier, basicConstraints CA:FALSE (critical), keyUsage
// (critical) digitalSignature (+ keyEncipherment for RSA server certs) and
// extendedKeyUsage serverAuth and/or clientAuth. CAs carry CA:TRUE (critical)
// and keyCertSign, cRLSign.
#pragma once

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

struct CaRequest {
  std::string name = "tlsgate CA";  // subject CN (and O=tlsgate)
  KeySpec key;
  int days = 3650;
  std::optional<util::SystemTime> not_before;  // overrides clock - 1h (tests: past windows)
  std::optional<util::SystemTime> not_after;   // overrides not_before + days
};

// Kinds of subject alternative name, classified from a command-line NAME:
// an IPv4/IPv6 literal is an IP, "user@host" an email, "scheme://..." a URI,
// anything else a DNS name (a left-most "*." wildcard is allowed).
struct SubjectNames {
  std::vector<std::string> dns, ip, email, uri;
};
util::Result<SubjectNames> classify_names(const std::vector<std::string>& names);

struct CertRequest {
  std::vector<std::string> names;  // SANs; the first is also the subject CN
  bool server = true;              // serverAuth (default when neither flag is set)
  bool client = false;             // clientAuth
  KeySpec key;
  int days = 397;
  std::optional<util::SystemTime> not_before;
  std::optional<util::SystemTime> not_after;
  EvpPkeyPtr existing_key;  // reuse this key instead of generating one (renewal with the same key)
};

struct Issued {
  X509Ptr cert;
  EvpPkeyPtr key;
};

util::Result<Issued> create_ca(const CaRequest& req, const util::Clock& clock);
util::Result<Issued> issue_certificate(const CertRequest& req, const X509* ca_cert,
                                       const EVP_PKEY* ca_key, const util::Clock& clock);

struct RevokedEntry {
  const X509* cert;  // revoked certificate (its serial is used)
};
// A CRL (v2, with AKI and CRL number 1) signed by the CA, revoking the given
// certificates. this_update = clock.now() unless set; next_update = this_update + 7 days unless
// set.
util::Result<X509CrlPtr> create_crl(const X509* ca_cert, const EVP_PKEY* ca_key,
                                    const std::vector<const X509*>& revoked,
                                    const util::Clock& clock,
                                    std::optional<util::SystemTime> this_update = {},
                                    std::optional<util::SystemTime> next_update = {});

}  // namespace tlsgate::pki
