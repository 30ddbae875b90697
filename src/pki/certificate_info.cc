#include "pki/certificate_info.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "pki/base64.h"
#include "pki/pin.h"
#include "util/peer_text.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

constexpr size_t kMaxSanText = 256;  // a DNS name is at most 253 bytes

std::string asn1_string_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int len = ASN1_STRING_to_UTF8(&out, s);
  if (len < 0) return {};
  OpensslBytes owned(out);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
}

std::string asn1_string_raw(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as "::".
std::string ipv6_to_string(const unsigned char* b) {
  unsigned groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = (static_cast<unsigned>(b[2 * i]) << 8) | b[2 * i + 1];
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = (j == i) ? i + 1 : j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", groups[i]);
    out += buf;
  }
  return out;
}

std::string ip_to_string(const ASN1_OCTET_STRING* ip) {
  const unsigned char* b = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4) {
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[3]);
  }
  if (len == 16) return ipv6_to_string(b);
  return "<invalid IP of " + std::to_string(len) + " bytes>";
}

void read_sans(const X509* cert, CertificateInfo& info) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    switch (gen->type) {
      case GEN_DNS:
        info.san_dns.push_back(asn1_string_raw(gen->d.dNSName));
        break;
      case GEN_IPADD:
        info.san_ip.push_back(ip_to_string(gen->d.iPAddress));
        break;
      case GEN_EMAIL:
        info.san_email.push_back(asn1_string_raw(gen->d.rfc822Name));
        break;
      case GEN_URI:
        info.san_uri.push_back(asn1_string_raw(gen->d.uniformResourceIdentifier));
        break;
      default:
        break;
    }
  }
}

void read_key(const X509* cert, CertificateInfo& info) {
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return;
  info.key_bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      info.key_type = "RSA";
      break;
    case EVP_PKEY_RSA_PSS:
      info.key_type = "RSA-PSS";
      break;
    case EVP_PKEY_EC:
      info.key_type = "EC";
      break;
    case EVP_PKEY_ED25519:
      info.key_type = "ED25519";
      break;
    case EVP_PKEY_ED448:
      info.key_type = "ED448";
      break;
    case EVP_PKEY_DSA:
      info.key_type = "DSA";
      break;
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      info.key_type = name ? name : "unknown";
    }
  }
  if (info.key_type != "EC") return;
  char group[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    return;
  }
  const char* nist = EC_curve_nid2nist(OBJ_sn2nid(group));
  info.key_curve = nist ? nist : group;
}

void read_usages(const X509* cert, CertificateInfo& info) {
  static constexpr const char* kKeyUsage[] = {
      "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
      "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};
  Asn1BitStringPtr ku(
      static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(cert, NID_key_usage, nullptr, nullptr)));
  for (int bit = 0; ku && bit < 9; ++bit) {
    if (ASN1_BIT_STRING_get_bit(ku.get(), bit)) info.key_usage.emplace_back(kKeyUsage[bit]);
  }
  Asn1ObjectStackPtr eku(static_cast<STACK_OF(ASN1_OBJECT)*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* obj = sk_ASN1_OBJECT_value(eku.get(), i);
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      info.extended_key_usage.emplace_back(OBJ_nid2sn(nid));
      continue;
    }
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, obj, 1);
    info.extended_key_usage.emplace_back(oid);
  }
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  info.is_ca = bc && bc->ca;
}

std::string first_cn(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  return asn1_string_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
}

}  // namespace

std::string fingerprint_sha256(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return util::to_upper(util::hex(std::string_view(reinterpret_cast<char*>(md), len), ":"));
}

std::string name_to_string(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string subject_of(const X509* cert) { return name_to_string(X509_get_subject_name(cert)); }

std::string serial_to_hex(const X509* cert) { return integer_to_hex(X509_get0_serialNumber(cert)); }

std::string integer_to_hex(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  OpensslString text(BN_bn2hex(bn.get()));
  if (!text) return {};
  std::string s = util::to_lower(text.get());
  bool negative = !s.empty() && s[0] == '-';
  std::string digits = negative ? s.substr(1) : s;
  size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  return negative ? "-" + digits : digits;
}

util::SystemTime to_system_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return util::SystemTime{};
  // SystemTime counts nanoseconds in 64 bits (years 1678 to 2262); RFC 5280's
  // 99991231235959Z ("no expiry") or a year 0000 would overflow it. Clamp to
  // half that range, so a difference of two such times cannot overflow either.
  constexpr std::time_t kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(util::SystemTime::duration::max()).count() /
      2;
  return std::chrono::system_clock::from_time_t(
      std::clamp<std::time_t>(timegm(&tm), -kLimit, kLimit));
}

std::string format_asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string san_text(std::string_view kind, std::string_view name) {
  return std::string(kind) + util::escape_peer_text(name, kMaxSanText);
}

std::string format_time(util::SystemTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

CertificateInfo describe(const X509* cert, const util::Clock& clock) {
  CertificateInfo info;
  info.subject = subject_of(cert);
  info.subject_cn = first_cn(X509_get_subject_name(cert));
  info.issuer = name_to_string(X509_get_issuer_name(cert));
  info.serial_hex = serial_to_hex(cert);
  info.not_before = to_system_time(X509_get0_notBefore(cert));
  info.not_after = to_system_time(X509_get0_notAfter(cert));
  info.not_before_text = format_asn1_time(X509_get0_notBefore(cert));
  info.not_after_text = format_asn1_time(X509_get0_notAfter(cert));
  auto now = clock.now();
  // From the certificate's own time, not the clamped one: a root valid to
  // 9999 has millions of days left, not the 2116 clamp's.
  Asn1TimePtr now_asn1(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(now)));
  int days = 0;
  int secs = 0;
  if (now_asn1 && ASN1_TIME_diff(&days, &secs, now_asn1.get(), X509_get0_notAfter(cert)) == 1) {
    info.days_left = days - (days <= 0 && secs < 0 ? 1 : 0);  // rounded down, as before
  } else {
    info.days_left =
        static_cast<long>(std::chrono::floor<std::chrono::days>(info.not_after - now).count());
  }
  info.expired = now > info.not_after;
  info.not_yet_valid = now < info.not_before;
  read_sans(cert, info);
  read_key(cert, info);
  read_usages(cert, info);
  // X509_self_signed only fills OpenSSL's extension cache; it does not change the certificate.
  info.self_signed = X509_self_signed(unconst(cert), 1) == 1;
  std::string pin = spki_sha256(cert);
  info.pin_hex = util::hex(pin);
  info.pin_base64 = encode_base64(pin);
  info.fingerprint_sha256 = fingerprint_sha256(cert);
  info.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));
  return info;
}

}  // namespace tlsgate::pki
