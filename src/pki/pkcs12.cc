#include "pki/pkcs12.h"

#include <openssl/err.h>

#include "pki/openssl_error.h"

namespace tlsgate::pki {

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
    ref.release();  // now owned by ca
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
