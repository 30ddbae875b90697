#include "pki/crl_issuer.h"

#include <array>
#include <cctype>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "pki/x509_build.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

constexpr auto kDefaultCrlLifetime = std::chrono::days(7);

struct ReasonName {
  RevocationReason reason;
  std::string_view name;
};
constexpr std::array<ReasonName, 9> kReasons = {{
    {RevocationReason::kUnspecified, "unspecified"},
    {RevocationReason::kKeyCompromise, "keyCompromise"},
    {RevocationReason::kCaCompromise, "cACompromise"},
    {RevocationReason::kAffiliationChanged, "affiliationChanged"},
    {RevocationReason::kSuperseded, "superseded"},
    {RevocationReason::kCessationOfOperation, "cessationOfOperation"},
    {RevocationReason::kCertificateHold, "certificateHold"},
    {RevocationReason::kPrivilegeWithdrawn, "privilegeWithdrawn"},
    {RevocationReason::kAaCompromise, "aACompromise"},
}};

util::Result<Asn1IntegerPtr> serial_from_hex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  if (hex.empty() || BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
    BN_free(raw);
    clear_openssl_errors();
    return util::fail("serial \"" + hex + "\" is not a hexadecimal number");
  }
  BignumPtr bn(raw);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return util::fail(openssl_error("cannot encode the serial " + hex));
  return serial;
}

util::Status add_entry(X509_CRL* crl, const CrlEntry& e) {
  auto serial = serial_from_hex(e.serial_hex);
  if (!serial) return util::fail(serial.error());
  Asn1TimePtr when = make_asn1_time(e.revoked_at);
  X509RevokedPtr entry(X509_REVOKED_new());
  bool ok = entry && when && X509_REVOKED_set_serialNumber(entry.get(), serial->get()) == 1 &&
            X509_REVOKED_set_revocationDate(entry.get(), when.get()) == 1;
  if (ok && e.reason != RevocationReason::kUnspecified) {
    using EnumPtr = std::unique_ptr<ASN1_ENUMERATED, Free<ASN1_ENUMERATED_free>>;
    EnumPtr code(ASN1_ENUMERATED_new());
    ok = code && ASN1_ENUMERATED_set(code.get(), static_cast<long>(e.reason)) == 1 &&
         X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0) == 1;
  }
  if (!ok || X509_CRL_add0_revoked(crl, entry.get()) != 1) {
    return util::fail(openssl_error("cannot add the serial " + e.serial_hex + " to the CRL"));
  }
  (void)entry.release();  // now owned by the CRL
  return {};
}

}  // namespace

util::Result<RevocationReason> parse_revocation_reason(std::string_view name) {
  for (const auto& r : kReasons) {
    if (util::iequals(r.name, name)) return r.reason;
  }
  if (util::iequals(name, "removeFromCRL")) {
    return util::fail(
        "reason removeFromCRL only belongs in delta CRLs, which tlsgate does not issue; a "
        "revocation cannot be taken back (issue a new certificate instead)");
  }
  std::vector<std::string> names;
  names.reserve(kReasons.size());
  for (const auto& r : kReasons) names.emplace_back(r.name);
  return util::fail("unknown revocation reason \"" + std::string(name) + "\"; use one of " +
                    util::join(names, ", "));
}

std::string_view reason_name(RevocationReason reason) {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return r.name;
  }
  return "unspecified";
}

std::optional<std::string> normalize_serial_hex(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    text.remove_prefix(2);
  std::string digits;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (digits.empty()) return std::nullopt;
  size_t first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}

size_t serial_octets(std::string_view serial_hex) {
  if (serial_hex.empty()) return 1;
  size_t octets = (serial_hex.size() + 1) / 2;
  // With an even number of digits the first octet is the first two digits; when its top bit
  // is set, DER puts a zero octet in front to keep the INTEGER positive.
  char first = static_cast<char>(std::tolower(static_cast<unsigned char>(serial_hex.front())));
  bool top_bit = (first >= '8' && first <= '9') || (first >= 'a' && first <= 'f');
  return octets + (serial_hex.size() % 2 == 0 && top_bit ? 1 : 0);
}

util::Status check_serial_length(const std::string& serial_hex) {
  size_t octets = serial_octets(serial_hex);
  if (octets <= kMaxSerialOctets) return {};
  return util::fail("serial " + serial_hex + " is " + std::to_string(octets) +
                    " octets long; RFC 5280 serial numbers are at most " +
                    std::to_string(kMaxSerialOctets) +
                    " octets (40 hex digits), so this is no conforming CA's serial: check the "
                    "number (a SHA-256 fingerprint is 32 octets), or give the certificate file");
}

util::Result<X509CrlPtr> sign_crl(const X509* ca_cert, const EVP_PKEY* ca_key, const CrlSpec& spec,
                                  const util::Clock& clock) {
  if (EVP_PKEY_eq(X509_get0_pubkey(ca_cert), ca_key) != 1) {
    clear_openssl_errors();
    return util::fail("the CA key does not match the CA certificate (" + subject_of(ca_cert) +
                      "); use the key that was created with that CA certificate");
  }
  auto last = spec.this_update.value_or(clock.now());
  auto next = spec.next_update.value_or(last + kDefaultCrlLifetime);
  Asn1TimePtr last_time = make_asn1_time(last);
  Asn1TimePtr next_time = make_asn1_time(next);
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  clear_openssl_errors();
  X509CrlPtr crl(X509_CRL_new());
  bool ok = crl && last_time && next_time && number &&
            ASN1_INTEGER_set_uint64(number.get(), spec.number) == 1 &&
            X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last_time.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next_time.get()) == 1;
  if (!ok) return util::fail(openssl_error("cannot build the CRL"));
  for (const CrlEntry& e : spec.entries) {
    if (auto st = add_entry(crl.get(), e); !st) return util::fail(st.error());
  }
  X509_CRL_sort(crl.get());
  auto aki = authority_key_identifier(ca_cert);
  if (!aki) return util::fail(aki.error());
  clear_openssl_errors();
  if (X509_CRL_add_ext(crl.get(), aki->get(), -1) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return util::fail(openssl_error("cannot add the CRL extensions"));
  }
  // X509_CRL_sign only reads the key; OpenSSL 3.0 lacks the const.
  if (X509_CRL_sign(crl.get(), unconst(ca_key), signature_digest(ca_key)) <= 0) {
    return util::fail(openssl_error("cannot sign the CRL"));
  }
  return crl;
}

util::Result<X509CrlPtr> create_crl(const X509* ca_cert, const EVP_PKEY* ca_key,
                                    const std::vector<const X509*>& revoked,
                                    const util::Clock& clock,
                                    std::optional<util::SystemTime> this_update,
                                    std::optional<util::SystemTime> next_update) {
  CrlSpec spec;
  spec.this_update = this_update.value_or(clock.now());
  spec.next_update = next_update;
  for (const X509* cert : revoked) {
    spec.entries.push_back(CrlEntry{serial_to_hex(cert), *spec.this_update});
  }
  return sign_crl(ca_cert, ca_key, spec, clock);
}

}  // namespace tlsgate::pki
