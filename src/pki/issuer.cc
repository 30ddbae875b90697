#include "pki/issuer.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "pki/subject_names.h"
#include "pki/x509_build.h"
#include "util/peer_text.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

constexpr auto kBackdate = std::chrono::hours(1);
constexpr size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280

// Code points of UTF-8 text, whether it is valid UTF-8, and whether it holds a control
// character (C0, DEL, C1), which a name must not: it would break every line that prints it.
struct TextCount {
  size_t chars = 0;
  bool valid_utf8 = true;
  bool control = false;
};
TextCount count_text(std::string_view text) {
  TextCount out;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > text.size()) return {out.chars, false, out.control};
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return {out.chars, false, out.control};
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return {out.chars, false, out.control};
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) out.control = true;
    ++out.chars;
    i += len;
  }
  return out;
}

X509NamePtr make_subject(const std::optional<std::string>& cn) {
  X509NamePtr name(X509_NAME_new());
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
  };
  if (!name || !add("O", "tlsgate") || (cn && !add("CN", *cn))) return nullptr;
  return name;
}

util::Status add_extension(X509* cert, const X509* issuer, int nid, const std::string& value) {
  auto ext = make_extension(nid, value, issuer, cert);
  if (!ext) return util::fail(ext.error());
  if (X509_add_ext(cert, ext->get(), -1) != 1) {
    return util::fail(
        openssl_error(std::string("cannot add the ") + OBJ_nid2sn(nid) + " extension"));
  }
  return {};
}

util::Status add_san(X509* cert, const SubjectNames& names) {
  auto gens = make_general_names(names);
  if (!gens) return util::fail(gens.error());
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens->get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return util::fail(openssl_error("cannot add the subjectAltName extension"));
  }
  return {};
}

// Everything but the extensions: version 3, serial, names, validity, public key.
util::Result<X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                      const EVP_PKEY* key, util::SystemTime not_before,
                                      util::SystemTime not_after) {
  if (not_after <= not_before) {
    return util::fail("the certificate would end (" + format_time(not_after) +
                      ") before it starts (" + format_time(not_before) +
                      "); give a positive number of days");
  }
  auto serial = random_serial();
  if (!serial) return util::fail(serial.error());
  clear_openssl_errors();
  X509Ptr cert(X509_new());
  bool ok = cert && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            X509_set_serialNumber(cert.get(), serial->get()) == 1 &&
            X509_set_subject_name(cert.get(), subject) == 1 &&
            X509_set_issuer_name(cert.get(), issuer) == 1 &&
            set_asn1_time(X509_getm_notBefore(cert.get()), not_before) &&
            set_asn1_time(X509_getm_notAfter(cert.get()), not_after) &&
            X509_set_pubkey(cert.get(), unconst(key)) == 1;
  if (!ok) return util::fail(openssl_error("cannot build the certificate"));
  return cert;
}

util::Status sign(X509* cert, const EVP_PKEY* key) {
  clear_openssl_errors();
  // X509_sign only reads the key; OpenSSL 3.0 lacks the const.
  if (X509_sign(cert, unconst(key), signature_digest(key)) <= 0) {
    return util::fail(openssl_error("cannot sign the certificate"));
  }
  return {};
}

}  // namespace

util::Result<GeneralNamesPtr> make_general_names(const SubjectNames& names) {
  GeneralNamesPtr gens(GENERAL_NAMES_new());
  auto push = [&](int type, const std::string& value) -> bool {
    GeneralNamePtr gen(GENERAL_NAME_new());
    if (!gen) return false;
    if (type == GEN_IPADD) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
      if (ip == nullptr) return false;
      GENERAL_NAME_set0_value(gen.get(), type, ip);
    } else {
      Asn1StringPtr text(ASN1_IA5STRING_new());
      if (!text || ASN1_STRING_set(text.get(), value.data(), static_cast<int>(value.size())) != 1) {
        return false;
      }
      GENERAL_NAME_set0_value(gen.get(), type, text.release());
    }
    if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) return false;
    (void)gen.release();  // now owned by gens
    return true;
  };
  clear_openssl_errors();
  bool ok = gens != nullptr;
  for (const auto& n : names.dns) ok = ok && push(GEN_DNS, n);
  for (const auto& n : names.ip) ok = ok && push(GEN_IPADD, n);
  for (const auto& n : names.email) ok = ok && push(GEN_EMAIL, n);
  for (const auto& n : names.uri) ok = ok && push(GEN_URI, n);
  if (!ok) return util::fail(openssl_error("cannot build the subjectAltName extension"));
  return gens;
}

LeafUsages leaf_usages(const EVP_PKEY* key, bool server, bool client, bool ocsp_signing) {
  server = server || (!client && !ocsp_signing);
  LeafUsages out{"critical,digitalSignature", ""};
  if (server && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) out.key_usage += ",keyEncipherment";
  std::vector<std::string> usages;
  if (server) usages.emplace_back("serverAuth");
  if (client) usages.emplace_back("clientAuth");
  if (ocsp_signing) usages.emplace_back("OCSPSigning");
  out.extended_key_usage = util::join(usages, ",");
  return out;
}

util::Status check_common_name(const std::string& name, const std::string& option) {
  if (util::trim(name).empty()) {
    return util::fail(option + " \"" + name + "\": a name is needed; give one, e.g. " + option +
                      " \"Example Ops CA\"");
  }
  auto text = count_text(name);
  if (!text.valid_utf8) {
    return util::fail(option + " " + util::quoted_peer_text(name) +
                      ": not valid UTF-8; give the name in UTF-8");
  }
  if (text.control) {
    return util::fail(option + " " + util::quoted_peer_text(name) +
                      ": control characters (newline, tab, ...) are not allowed in a name; use "
                      "printable characters only");
  }
  if (text.chars > kMaxCommonName) {
    return util::fail(option + ": " + std::to_string(text.chars) +
                      " characters; a certificate's common name (CN) holds at most " +
                      std::to_string(kMaxCommonName) + " (RFC 5280); give a shorter name");
  }
  return {};
}

util::Status check_name_characters(const std::string& name) {
  auto text = count_text(name);
  if (!text.valid_utf8 || text.control) {
    return util::fail(util::quoted_peer_text(name) +
                      " is not a valid name: control characters (newline, tab, ...) and bytes "
                      "that are not UTF-8 are not allowed; give the name in printable characters");
  }
  return {};
}

std::optional<std::string> leaf_common_name(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    std::string name(util::trim(n));
    auto text = count_text(name);
    if (!name.empty() && text.valid_utf8 && !text.control && text.chars <= kMaxCommonName) {
      return name;
    }
  }
  return std::nullopt;
}

util::Result<KeySpec> rsa_key_spec(int bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return util::fail("--rsa " + std::to_string(bits) +
                      ": unsupported RSA key size; use 2048, 3072 or 4096");
  }
  return KeySpec{KeySpec::Type::kRsa, bits};
}

util::Result<EvpPkeyPtr> existing_or_new_key(const EvpPkeyPtr& existing, const KeySpec& spec) {
  if (existing) return up_ref(existing.get());
  return generate_key(spec);
}

util::Result<EvpPkeyPtr> generate_key(const KeySpec& spec) {
  bool rsa = spec.type == KeySpec::Type::kRsa;
  if (rsa) {
    if (auto checked = rsa_key_spec(spec.rsa_bits); !checked) return util::fail(checked.error());
  }
  clear_openssl_errors();
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, rsa ? "RSA" : "EC", nullptr));
  bool ok = ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
            (rsa ? EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), spec.rsa_bits) == 1
                 : EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") == 1);
  EVP_PKEY* raw = nullptr;
  if (!ok || EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return util::fail(
        openssl_error(rsa ? "cannot generate an RSA key" : "cannot generate a P-256 key"));
  }
  return EvpPkeyPtr(raw);
}

util::Status check_leaf_key(const EVP_PKEY* key) {
  static const std::string kRule =
      "; tlsgate certifies only RSA keys of at least 2048 bits and ECDSA keys on P-256, P-384 or "
      "P-521 (what TLS clients accept)";
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits >= 2048) return {};
    return util::fail("an RSA key of " + std::to_string(bits) + " bits" + kRule);
  }
  if (id == EVP_PKEY_EC) {
    char group[80] = {};
    size_t len = 0;
    clear_openssl_errors();
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
      clear_openssl_errors();
      return util::fail("an EC key with explicit curve parameters (no named curve)" + kRule);
    }
    std::string_view name(group, len);
    if (name == "prime256v1" || name == "secp384r1" || name == "secp521r1") return {};
    return util::fail("an EC key on " + std::string(name) + kRule);
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return util::fail(std::string("an ") + (type != nullptr ? type : "unknown") + " key" + kRule);
}

util::Status check_ca_validity(const X509* ca_cert, const std::string& source,
                               const util::Clock& clock) {
  auto now = clock.now();
  auto from = to_system_time(X509_get0_notBefore(ca_cert));
  auto until = to_system_time(X509_get0_notAfter(ca_cert));
  std::string who = source + ": the CA certificate (" + subject_of(ca_cert) + ")";
  std::string dates = " (valid " + format_time(from) + " to " + format_time(until) + ")";
  if (now > until) {
    return util::fail(who + " expired on " + format_time(until) + dates +
                      "; nothing it signs now would verify; make a new CA (`tlsgate cert ca "
                      "--out DIR --force`) and issue again, or check this machine's clock");
  }
  if (now < from) {
    return util::fail(who + " is not valid until " + format_time(from) + dates +
                      "; check this machine's clock, or wait until then");
  }
  return {};
}

void warn_on_stderr(const std::string& message) {
  std::fprintf(stderr, "tlsgate: warning: %s\n", message.c_str());
}

util::Status check_extension_url(const std::string& url, const std::string& option) {
  auto bad = [&](const std::string& why) {
    return util::fail(option + " \"" + url + "\": " + why +
                      "; give a URL like http://ocsp.example.com/");
  };
  size_t scheme = url.rfind("http://", 0) == 0 ? 7 : url.rfind("https://", 0) == 0 ? 8 : 0;
  if (scheme == 0) return bad("not an http:// or https:// URL");
  if (url.size() > 1024) return bad("longer than 1024 characters");
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f || c == ',')
      return bad("spaces, commas and control characters are not allowed");
  }
  if (url.size() == scheme || url[scheme] == '/') return bad("no host");
  return {};
}

util::Result<Issued> create_ca(const CaRequest& req, const util::Clock& clock) {
  if (auto st = check_common_name(req.name, "CA name"); !st) return util::fail(st.error());
  auto key = existing_or_new_key(req.existing_key, req.key);
  if (!key) return util::fail(key.error());
  X509NamePtr subject = make_subject(req.name);
  if (!subject) return util::fail(openssl_error("cannot build the CA name \"" + req.name + "\""));
  auto not_before = req.not_before.value_or(clock.now() - kBackdate);
  auto not_after = req.not_after.value_or(not_before + std::chrono::days(req.days));
  auto cert = new_certificate(subject.get(), subject.get(), key->get(), not_before, not_after);
  if (!cert) return util::fail(cert.error());
  X509* x = cert->get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto st = add_extension(x, x, nid, value); !st) return util::fail(st.error());
  }
  if (auto st = sign(x, key->get()); !st) return util::fail(st.error());
  return Issued{std::move(*cert), std::move(*key)};
}

util::Result<Issued> issue_certificate(const CertRequest& req, const X509* ca_cert,
                                       const EVP_PKEY* ca_key, const util::Clock& clock) {
  if (req.names.empty()) {
    return util::fail(
        "a certificate needs at least one name; give a DNS name, IP address, email "
        "address or URI");
  }
  for (const auto& n : req.names) {
    if (auto st = check_name_characters(n); !st) return util::fail(st.error());
  }
  auto names = classify_names(req.names);
  if (!names) return util::fail(names.error());
  if (auto match = EVP_PKEY_eq(X509_get0_pubkey(ca_cert), ca_key); match != 1) {
    clear_openssl_errors();
    return util::fail("the CA key does not match the CA certificate (" + subject_of(ca_cert) +
                      "); use the key that was created with that CA certificate");
  }
  if (!req.not_before && !req.not_after) {
    if (auto st = check_ca_validity(ca_cert, req.ca_source, clock); !st) {
      return util::fail(st.error());
    }
  }
  // X509_check_ca only fills OpenSSL's extension cache.
  if (X509_check_ca(unconst(ca_cert)) == 0) {
    return util::fail("the CA certificate (" + subject_of(ca_cert) +
                      ") is not a CA (no basicConstraints CA:TRUE); issue from a CA made with "
                      "`tlsgate cert ca`");
  }
  if (req.existing_key) {
    if (auto st = check_leaf_key(req.existing_key.get()); !st) {
      return util::fail(st.error().prefixed("the key to certify"));
    }
  }
  auto made = existing_or_new_key(req.existing_key, req.key);
  if (!made) return util::fail(made.error());
  EvpPkeyPtr key = std::move(*made);
  X509NamePtr subject = make_subject(leaf_common_name(req.names));
  if (!subject) return util::fail(openssl_error("cannot build the subject name"));
  auto not_before = req.not_before.value_or(clock.now() - kBackdate);
  auto not_after = req.not_after.value_or(not_before + std::chrono::days(req.days));
  if (!req.not_before && !req.not_after) {
    // A certificate beyond its CA's life would fail verification then anyway; say so now.
    auto ca_end = to_system_time(X509_get0_notAfter(ca_cert));
    if (not_after > ca_end) {
      not_after = ca_end;
      if (req.on_warning) {
        req.on_warning("the certificate for " + std::string(util::trim(req.names.front())) +
                       " ends on " + format_time(ca_end) + " with its CA (" + req.ca_source +
                       "), not " + std::to_string(req.days) +
                       " days from now; renew the CA before then");
      }
    }
  }
  auto cert = new_certificate(subject.get(), X509_get_subject_name(ca_cert), key.get(), not_before,
                              not_after);
  if (!cert) return util::fail(cert.error());
  X509* x = cert->get();

  auto usages = leaf_usages(key.get(), req.server, req.client, req.ocsp_signing);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, usages.key_usage},
      {NID_ext_key_usage, usages.extended_key_usage},
      {NID_subject_key_identifier, "hash"}};
  // A client need not ask whether the responder's own certificate is revoked.
  if (req.ocsp_signing) extensions.emplace_back(NID_id_pkix_OCSP_noCheck, "ignored");
  std::vector<std::string> access, points;
  for (const auto& url : req.ocsp_urls) {
    if (auto st = check_extension_url(url, "OCSP URL"); !st) return util::fail(st.error());
    access.push_back("OCSP;URI:" + url);
  }
  for (const auto& url : req.crl_urls) {
    if (auto st = check_extension_url(url, "CRL URL"); !st) return util::fail(st.error());
    points.push_back("URI:" + url);
  }
  if (!access.empty()) extensions.emplace_back(NID_info_access, util::join(access, ","));
  if (!points.empty())
    extensions.emplace_back(NID_crl_distribution_points, util::join(points, ","));
  for (const auto& [nid, value] : extensions) {
    if (auto st = add_extension(x, ca_cert, nid, value); !st) return util::fail(st.error());
  }
  // The key identifier RFC 5280 4.2.1.1 asks for, also under a CA made
  // elsewhere without a subjectKeyIdentifier (its issuer and serial, which
  // OpenSSL's "keyid,issuer" put there instead, tie the leaf to one CA certificate).
  auto aki = authority_key_identifier(ca_cert);
  if (!aki) return util::fail(aki.error());
  clear_openssl_errors();
  if (X509_add_ext(x, aki->get(), -1) != 1) {
    return util::fail(openssl_error("cannot add the authorityKeyIdentifier extension"));
  }
  if (auto st = add_san(x, *names); !st) return util::fail(st.error());
  if (auto st = sign(x, ca_key); !st) return util::fail(st.error());
  return Issued{std::move(*cert), std::move(key)};
}

}  // namespace tlsgate::pki
