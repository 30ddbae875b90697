#include "pki/pkcs12.h"

#include <openssl/err.h>

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
                                         const util::Secret& password) {
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
        return util::fail(source +
                          ": wrong password for the PKCS#12 key store; check the password "
                          "(or --password-file)");
      }
      return util::fail(source + ": truncated or corrupted PKCS#12 key store: " + reasons);
    }
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  clear_openssl_errors();
  int ok = PKCS12_parse(p12.get(), pass, &key, &cert, &ca);
  Pkcs12Contents out{X509Ptr(cert), EvpPkeyPtr(key), {}};
  X509StackPtr owned_ca(ca);
  if (ok != 1) {
    return util::fail(openssl_error(source + ": truncated or corrupted PKCS#12 key store"));
  }
  while (owned_ca && sk_X509_num(owned_ca.get()) > 0) {
    out.chain.emplace_back(sk_X509_shift(owned_ca.get()));
  }
  if (!out.cert) return util::fail(source + ": the PKCS#12 key store holds no certificate");
  if (!out.key) return util::fail(source + ": the PKCS#12 key store holds no private key");
  return out;
}

}  // namespace tlsgate::pki
