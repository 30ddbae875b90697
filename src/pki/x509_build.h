// Internal to pki: small steps shared by certificate and CRL issuing.
// Thread-safe; each touches only its arguments.
#pragma once

#include <string>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

// Sets *time to t (UTCTime before 2050, GeneralizedTime after, per RFC 5280).
bool set_asn1_time(ASN1_TIME* time, util::SystemTime t);
Asn1TimePtr make_asn1_time(util::SystemTime t);

// A random positive 128-bit serial: RAND_bytes, top bit cleared, never zero.
util::Result<Asn1IntegerPtr> random_serial();

// One extension in openssl.cnf syntax ("critical,CA:TRUE") for `subject`
// (a certificate, or nullptr with crl set), issued by `issuer`.
util::Result<X509ExtensionPtr> make_extension(int nid, const std::string& value, const X509* issuer,
                                              X509* subject, X509_CRL* crl = nullptr);

// The authorityKeyIdentifier (non-critical, keyIdentifier only) of something `issuer` signs:
// the issuer's subjectKeyIdentifier, or, for an issuer without one (a CA made by plain openssl
// or an old tool), the SHA-1 of its subjectPublicKey, RFC 5280 4.2.1.2 method 1. RFC 5280
// 5.2.1 requires the key identifier in every CRL; verifiers compare it with the issuer's SKI
// only when the issuer has one, so the computed value matches where it is checked at all.
util::Result<X509ExtensionPtr> authority_key_identifier(const X509* issuer);

// SHA-256 for RSA/EC keys; none for Ed25519/Ed448, which hash internally.
const EVP_MD* signature_digest(const EVP_PKEY* key);

}  // namespace tlsgate::pki
