// CertificateInfo: everything `cert inspect` and `check` say about a certificate.
//
// describe() reads an X509 into plain data; it does not verify anything.
// Names use OpenSSL's RFC 2253 one-line form ("CN=db1,O=Example").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"

namespace tlsgate::pki {

struct CertificateInfo {
  std::string subject;            // RFC 2253, e.g. "CN=db1.example.com,O=Example"
  std::string subject_cn;         // first CN, "" if none
  std::string issuer;             // RFC 2253
  std::string serial_hex;         // lowercase hex, no separators, no leading zeros beyond one
  util::SystemTime not_before{};  // clamped to the years 1824-2116 (to_system_time())
  util::SystemTime not_after{};
  std::string not_before_text;  // as the certificate says, "2126-11-13 10:00:00 UTC"
  std::string not_after_text;
  long days_left = 0;          // whole days from clock.now() to not_after, negative if expired
  bool expired = false;        // now > not_after
  bool not_yet_valid = false;  // now < not_before
  std::vector<std::string> san_dns;
  std::vector<std::string> san_ip;  // textual, "127.0.0.1", "::1"
  std::vector<std::string> san_email;
  std::vector<std::string> san_uri;
  std::string key_type;   // "EC", "RSA", "ED25519", ...
  std::string key_curve;  // "P-256" for EC keys, else ""
  int key_bits = 0;
  std::vector<std::string>
      key_usage;  // "digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign", ...
  std::vector<std::string>
      extended_key_usage;           // "serverAuth", "clientAuth", ... (OID text if unknown)
  bool is_ca = false;               // basicConstraints CA:TRUE
  bool self_signed = false;         // subject == issuer and signature verifies with own key
  std::string pin_hex;              // SHA-256 of SubjectPublicKeyInfo DER, lowercase hex
  std::string pin_base64;           // same digest, standard base64
  std::string fingerprint_sha256;   // SHA-256 of the certificate DER, "AB:CD:..." uppercase
  std::string signature_algorithm;  // "ecdsa-with-SHA256", ...
};

CertificateInfo describe(const X509* cert, const util::Clock& clock);

// Formats a time point as "2026-11-22 13:15:00 UTC".
std::string format_time(util::SystemTime t);
// The same for an ASN1_TIME, any year it can hold ("?" if it cannot be read).
std::string format_asn1_time(const ASN1_TIME* t);

// One subjectAltName for a message or a report: "DNS:" + the name, its
// control bytes escaped (util::escape_peer_text). A certificate's names are
// the peer's words: a "DNS name" holding a newline and "verification: OK"
// must not print as a line of our report.
std::string san_text(std::string_view kind, std::string_view name);

// Helpers shared by the pki messages.
// RFC 2253 one-line form of a name ("CN=db1,O=Example"), UTF-8 kept as is.
std::string name_to_string(const X509_NAME* name);
// Subject (RFC 2253) of a certificate.
std::string subject_of(const X509* cert);
// Serial number in the serial_hex form above.
std::string serial_to_hex(const X509* cert);
// An ASN1_INTEGER (a serial number anywhere else) in the same form.
std::string integer_to_hex(const ASN1_INTEGER* serial);
// SHA-256 of the certificate's DER, "AB:CD:..." (CertificateInfo::fingerprint_sha256).
std::string fingerprint_sha256(const X509* cert);
// An ASN1_TIME as a time point (the epoch if it cannot be read). Times outside
// about 1824 to 2116 (99991231235959Z, "no expiry") are clamped to those years.
util::SystemTime to_system_time(const ASN1_TIME* t);

}  // namespace tlsgate::pki
