#include "pki/pkcs12.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include <algorithm>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

// Oracle's "trusted key usage" attribute (JDK's PKCS12KeyStore, TrustedKeyUsage).
constexpr const char* kJavaTrustedKeyUsage = "2.16.840.1.113894.746875.1.1";
constexpr int kMacIterations = 2048;

std::string alias_for(const X509* cert, std::vector<std::string>& taken) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  std::string base;
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    unsigned char* utf8 = nullptr;
    int len =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    OpensslBytes owned(utf8);
    if (len > 0)
      base = util::to_lower(std::string(reinterpret_cast<char*>(utf8), static_cast<size_t>(len)));
  }
  if (base.empty()) base = "ca";
  std::string alias = base;
  for (int n = 2; std::find(taken.begin(), taken.end(), alias) != taken.end(); ++n) {
    alias = base + "-" + std::to_string(n);
  }
  taken.push_back(alias);
  return alias;
}

// Makes a library context with OpenSSL 3's default and legacy providers the calling thread's
// default while it lives, so that one store with RC2 (or other legacy) encryption can be read
// without any other thread, or anything later on this one, gaining the legacy algorithms.
// Objects made inside may hold the context's providers: re-encode them before it ends.
class LegacyScope {
 public:
  LegacyScope() : ctx_(OSSL_LIB_CTX_new()) {
    if (ctx_ == nullptr) return;
    default_ = OSSL_PROVIDER_load(ctx_, "default");
    legacy_ = OSSL_PROVIDER_load(ctx_, "legacy");
    if (default_ != nullptr && legacy_ != nullptr) previous_ = OSSL_LIB_CTX_set0_default(ctx_);
  }
  ~LegacyScope() {
    if (previous_ != nullptr) OSSL_LIB_CTX_set0_default(previous_);
    if (legacy_ != nullptr) OSSL_PROVIDER_unload(legacy_);
    if (default_ != nullptr) OSSL_PROVIDER_unload(default_);
    OSSL_LIB_CTX_free(ctx_);
  }
  LegacyScope(const LegacyScope&) = delete;
  LegacyScope& operator=(const LegacyScope&) = delete;
  bool active() const { return previous_ != nullptr; }

 private:
  OSSL_LIB_CTX* ctx_;
  OSSL_PROVIDER* default_ = nullptr;
  OSSL_PROVIDER* legacy_ = nullptr;
  OSSL_LIB_CTX* previous_ = nullptr;
};

// PKCS12_parse into owned handles; false leaves the reasons in the error queue.
bool parse(PKCS12* p12, const char* pass, Pkcs12Contents& out) {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  int ok = PKCS12_parse(p12, pass, &key, &cert, &ca);
  out = Pkcs12Contents{X509Ptr(cert), EvpPkeyPtr(key), {}};
  X509StackPtr owned_ca(ca);
  while (owned_ca && sk_X509_num(owned_ca.get()) > 0) {
    out.chain.emplace_back(sk_X509_shift(owned_ca.get()));
  }
  return ok == 1;
}

template <typename T, int (*Encode)(const T*, unsigned char**)>
std::string der_of(const T* object) {
  int len = Encode(object, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  return Encode(object, &p) == len ? der : std::string();
}

X509Ptr x509_from(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// Reads the store with the legacy provider (LegacyScope), then re-creates what it holds in the
// thread's own library context.
util::Result<Pkcs12Contents> parse_legacy(PKCS12* p12, const char* pass,
                                          const std::string& source) {
  std::string key_der;
  std::string cert_der;
  std::vector<std::string> chain_der;
  {
    LegacyScope legacy;
    if (!legacy.active()) {
      // The first reason names the file OpenSSL looked for; the rest repeat it without the name.
      std::string reasons = drain_openssl_errors();
      reasons = reasons.substr(0, reasons.find("; "));
      return util::fail(
          source +
          ": uses legacy RC2/3DES encryption that OpenSSL 3 does not load by default, and "
          "OpenSSL's legacy provider (ossl-modules/legacy.so, Debian package libssl3) cannot be "
          "loaded" +
          (reasons.empty() ? std::string() : " (" + reasons + ")") +
          "; re-export it with AES: openssl pkcs12 -legacy -in " + source +
          " -nodes | openssl pkcs12 -export -out NEW.p12");
    }
    Pkcs12Contents raw;
    if (!parse(p12, pass, raw)) {
      return util::fail(openssl_error(source +
                                      ": truncated or corrupted PKCS#12 key store (read with "
                                      "OpenSSL's legacy provider)"));
    }
    if (raw.key) key_der = der_of<EVP_PKEY, i2d_PrivateKey>(raw.key.get());
    if (raw.cert) cert_der = der_of<X509, i2d_X509>(raw.cert.get());
    for (const auto& c : raw.chain) chain_der.push_back(der_of<X509, i2d_X509>(c.get()));
  }
  Pkcs12Contents out;
  bool ok = true;
  if (!key_der.empty()) {
    const auto* p = reinterpret_cast<const unsigned char*>(key_der.data());
    out.key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(key_der.size())));
    OPENSSL_cleanse(key_der.data(), key_der.size());  // the key in the clear, copied
    ok = ok && out.key;
  }
  if (!cert_der.empty()) {
    out.cert = x509_from(cert_der);
    ok = ok && out.cert;
  }
  for (const auto& der : chain_der) {
    out.chain.push_back(x509_from(der));
    ok = ok && out.chain.back();
  }
  if (!ok) {
    return util::fail(openssl_error(source + ": cannot re-create what the legacy PKCS#12 store "
                                             "holds"));
  }
  return out;
}

}  // namespace

util::Result<std::string> write_pkcs12_truststore(const std::vector<X509Ptr>& certs,
                                                  const util::Secret& password) {
  if (certs.empty())
    return util::fail("a trust store needs at least one certificate; pass --ca FILE");
  clear_openssl_errors();
  Pkcs12SafebagStackPtr bags(sk_PKCS12_SAFEBAG_new_null());
  if (!bags) return util::fail(openssl_error("out of memory"));
  std::vector<std::string> aliases;
  for (const auto& cert : certs) {
    std::string alias = alias_for(cert.get(), aliases);
    Pkcs12SafebagPtr bag(PKCS12_SAFEBAG_create_cert(cert.get()));
    // With len -1 and a non-string type, the attribute value is the ASN1_OBJECT itself.
    bool ok = bag && PKCS12_add_friendlyname_utf8(bag.get(), alias.c_str(), -1) == 1 &&
              PKCS12_add1_attr_by_txt(
                  bag.get(), kJavaTrustedKeyUsage, V_ASN1_OBJECT,
                  reinterpret_cast<const unsigned char*>(OBJ_nid2obj(NID_anyExtendedKeyUsage)),
                  -1) == 1 &&
              sk_PKCS12_SAFEBAG_push(bags.get(), bag.get()) > 0;
    if (!ok) {
      return util::fail(
          openssl_error("cannot add " + subject_of(cert.get()) + " to the PKCS#12 trust store"));
    }
    (void)bag.release();  // now owned by bags
  }
  Pkcs7StackPtr safes(sk_PKCS7_new_null());
  Pkcs7Ptr p7(PKCS12_pack_p7data(bags.get()));
  if (!safes || !p7 || sk_PKCS7_push(safes.get(), p7.get()) == 0) {
    return util::fail(openssl_error("cannot pack the PKCS#12 trust store"));
  }
  (void)p7.release();  // now owned by safes
  Pkcs12Ptr p12(PKCS12_add_safes(safes.get(), 0));
  if (!p12) return util::fail(openssl_error("cannot build the PKCS#12 trust store"));
  if (!password.empty()) {
    const std::string& pw = password.reveal();
    if (PKCS12_set_mac(p12.get(), pw.c_str(), static_cast<int>(pw.size()), nullptr, 0,
                       kMacIterations, EVP_sha256()) != 1) {
      return util::fail(openssl_error("cannot add the MAC to the PKCS#12 trust store"));
    }
  }
  int len = i2d_PKCS12(p12.get(), nullptr);
  if (len <= 0) return util::fail(openssl_error("cannot encode the PKCS#12 trust store"));
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PKCS12(p12.get(), &p) != len) {
    return util::fail(openssl_error("cannot encode the PKCS#12 trust store"));
  }
  return der;
}

util::Result<std::string> write_pkcs12(const X509* cert, const EVP_PKEY* key,
                                       const std::vector<X509Ptr>& chain,
                                       const util::Secret& password,
                                       const std::string& friendly_name) {
  clear_openssl_errors();
  X509StackPtr ca(sk_X509_new_null());
  if (!ca) return util::fail(openssl_error("out of memory"));
  for (const auto& c : chain) {
    X509Ptr ref = up_ref(c.get());
    if (sk_X509_push(ca.get(), ref.get()) == 0) return util::fail(openssl_error("out of memory"));
    (void)ref.release();  // now owned by ca
  }
  // 0 picks OpenSSL 3's defaults (AES-256-CBC with PBKDF2, HMAC-SHA256 MAC); -1 stores the
  // bags unencrypted, which is what an empty password means.
  int nid = password.empty() ? -1 : 0;
  // PKCS12_create only reads the key and certificates; OpenSSL 3.0 lacks the const.
  Pkcs12Ptr p12(PKCS12_create(password.reveal().c_str(),
                              friendly_name.empty() ? nullptr : friendly_name.c_str(), unconst(key),
                              unconst(cert), ca.get(), nid, nid, 0, 0, 0));
  if (!p12) return util::fail(openssl_error("cannot create the PKCS#12 key store"));
  int len = i2d_PKCS12(p12.get(), nullptr);
  if (len <= 0) return util::fail(openssl_error("cannot encode the PKCS#12 key store"));
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PKCS12(p12.get(), &p) != len) {
    return util::fail(openssl_error("cannot encode the PKCS#12 key store"));
  }
  return der;
}

util::Result<Pkcs12Contents> read_pkcs12(std::string_view der, const std::string& source,
                                         const util::Secret& password,
                                         std::string_view password_advice) {
  clear_openssl_errors();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) {
    std::string reasons = drain_openssl_errors();
    return util::fail(source + ": not a PKCS#12 key store, or truncated or corrupted" +
                      (reasons.empty() ? std::string() : ": " + reasons));
  }
  // An empty password may have been applied as "" or as no password at all; try both, as
  // `openssl pkcs12` does.
  const char* pass = password.reveal().c_str();
  if (PKCS12_mac_present(p12.get()) == 1) {
    bool mac_ok = PKCS12_verify_mac(p12.get(), pass, -1) == 1;
    if (!mac_ok && password.empty() && PKCS12_verify_mac(p12.get(), nullptr, 0) == 1) {
      mac_ok = true;
      pass = nullptr;
    }
    if (!mac_ok) {
      // A MAC that computes but differs leaves no error: that is the wrong password. Failing to
      // compute it at all (unknown algorithm, broken parameters) is corruption.
      bool wrong = ERR_peek_last_error() == 0;
      std::string reasons = drain_openssl_errors();
      if (wrong) {
        return util::fail(source + ": wrong password for the PKCS#12 key store; " +
                          (password_advice.empty() ? std::string("check the password")
                                                   : std::string(password_advice)));
      }
      return util::fail(source + ": truncated or corrupted PKCS#12 key store: " + reasons);
    }
  }
  clear_openssl_errors();
  Pkcs12Contents out;
  if (!parse(p12.get(), pass, out)) {
    // OpenSSL 3 says "unsupported" for a cipher no loaded provider has: RC2-40-CBC of
    // `openssl pkcs12 -export -legacy` and of stores from older tools.
    std::string reasons = drain_openssl_errors();
    if (reasons.find("unsupported") == std::string::npos) {
      return util::fail(source + ": truncated or corrupted PKCS#12 key store" +
                        (reasons.empty() ? std::string() : ": " + reasons));
    }
    auto legacy = parse_legacy(p12.get(), pass, source);
    if (!legacy) return util::fail(legacy.error());
    out = std::move(*legacy);
  }
  if (!out.key) {
    // PKCS12_parse returns a certificate as `cert` only when it belongs to the key.
    if (out.cert) out.chain.insert(out.chain.begin(), std::move(out.cert));
    if (out.chain.empty()) return util::fail(source + ": the PKCS#12 store holds no certificate");
    return out;  // a trust store
  }
  if (!out.cert) {
    return util::fail(source +
                      ": the PKCS#12 key store holds a private key but not its "
                      "certificate");
  }
  return out;
}

}  // namespace tlsgate::pki
