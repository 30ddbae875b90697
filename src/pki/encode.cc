#include "pki/encode.h"

#include <openssl/pem.h>

#include "pki/openssl_error.h"
#include "util/atomic_file.h"

namespace tlsgate::pki {
namespace {

BioPtr memory_bio() { return BioPtr(BIO_new(BIO_s_mem())); }

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

// Runs an i2d function twice: once for the length, once into the buffer.
template <typename T, typename Fn>
util::Result<std::string> to_der(const T* object, Fn i2d, const char* what) {
  clear_openssl_errors();
  int len = i2d(object, nullptr);
  if (len <= 0)
    return util::fail(openssl_error(std::string("cannot encode the ") + what + " as DER"));
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d(object, &p) != len) {
    return util::fail(openssl_error(std::string("cannot encode the ") + what + " as DER"));
  }
  return out;
}

template <typename Fn>
util::Result<std::string> to_pem(Fn write, const char* what) {
  clear_openssl_errors();
  BioPtr bio = memory_bio();
  if (!bio || write(bio.get()) != 1) {
    return util::fail(openssl_error(std::string("cannot encode the ") + what + " as PEM"));
  }
  return bio_contents(bio.get());
}

}  // namespace

util::Result<std::string> certificate_pem(const X509* cert) {
  return to_pem([cert](BIO* b) { return PEM_write_bio_X509(b, cert); }, "certificate");
}

util::Result<std::string> certificate_der(const X509* cert) {
  return to_der(cert, i2d_X509, "certificate");
}

util::Result<std::string> private_key_pem(const EVP_PKEY* key,
                                          const std::optional<util::Secret>& password) {
  if (!password) {
    return to_pem(
        [key](BIO* b) {
          return PEM_write_bio_PKCS8PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
        },
        "private key");
  }
  const std::string& pw = password->reveal();
  return to_pem(
      [key, &pw](BIO* b) {
        return PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), pw.data(),
                                             static_cast<int>(pw.size()), nullptr, nullptr);
      },
      "private key");
}

util::Result<std::string> private_key_der(const EVP_PKEY* key,
                                          const std::optional<util::Secret>& password) {
  clear_openssl_errors();
  BioPtr bio = memory_bio();
  const EVP_CIPHER* cipher = password ? EVP_aes_256_cbc() : nullptr;
  const char* pw = password ? password->reveal().data() : nullptr;
  int pw_len = password ? static_cast<int>(password->reveal().size()) : 0;
  if (!bio || i2d_PKCS8PrivateKey_bio(bio.get(), key, cipher, pw, pw_len, nullptr, nullptr) != 1) {
    return util::fail(openssl_error("cannot encode the private key as DER"));
  }
  return bio_contents(bio.get());
}

util::Result<KeyFormat> parse_key_format(const std::string& text) {
  if (text == "pkcs8") return KeyFormat::kPkcs8;
  if (text == "pkcs1") return KeyFormat::kPkcs1;
  return util::fail("--key-format " + text +
                    ": unknown key format; use pkcs8 (PEM label PRIVATE KEY, the default) or pkcs1 "
                    "(PEM label RSA PRIVATE KEY, RSA keys only)");
}

util::Result<std::string> private_key_pkcs1_pem(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    std::string type = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ? "an EC" : "a non-RSA";
    return util::fail("PKCS#1 holds RSA keys only; this is " + type +
                      " key: use --key-format pkcs8, or --rsa BITS for an RSA key");
  }
  // The "traditional" form of an RSA key is PKCS#1 RSAPrivateKey.
  return to_pem(
      [key](BIO* b) {
        return PEM_write_bio_PrivateKey_traditional(b, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "private key");
}

util::Result<std::string> crl_pem(const X509_CRL* crl) {
  return to_pem([crl](BIO* b) { return PEM_write_bio_X509_CRL(b, crl); }, "CRL");
}

util::Result<std::string> crl_der(const X509_CRL* crl) { return to_der(crl, i2d_X509_CRL, "CRL"); }

util::Result<std::string> chain_pem(const X509* leaf, const std::vector<X509Ptr>& chain) {
  auto out = certificate_pem(leaf);
  if (!out) return out;
  for (const auto& cert : chain) {
    auto pem = certificate_pem(cert.get());
    if (!pem) return pem;
    *out += *pem;
  }
  return out;
}

util::Result<std::string> encode_private_key(const EVP_PKEY* key, KeyFormat format,
                                             const std::optional<util::Secret>& password) {
  if (format == KeyFormat::kPkcs8) return private_key_pem(key, password);
  if (password)
    return util::fail("an encrypted key is written as PKCS#8 only; use --key-format pkcs8");
  return private_key_pkcs1_pem(key);
}

util::Status write_private_key(const std::filesystem::path& path, const EVP_PKEY* key, mode_t mode,
                               const std::optional<util::Secret>& password, KeyFormat format) {
  auto pem = encode_private_key(key, format, password);
  if (!pem) return util::fail(pem.error().prefixed(path.string()));
  return util::write_file_atomic(path, *pem, mode);
}

}  // namespace tlsgate::pki
