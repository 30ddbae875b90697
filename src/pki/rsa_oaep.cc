#include "pki/rsa_oaep.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fmt/format.h>

#include "pki/openssl_error.h"

namespace tlsgate::pki {

namespace {

// SHA-1's output twice, plus two: what OAEP adds to the message.
constexpr size_t kOaepSha1Overhead = 2 * 20 + 2;

}  // namespace

util::Result<EvpPkeyPtr> rsa_public_key_from_pem(std::string_view pem) {
  clear_openssl_errors();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  clear_openssl_errors();
  if (!key) return util::fail("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  if (!EVP_PKEY_is_a(key.get(), "RSA")) {
    return util::fail(
        fmt::format("the public key is {}, not RSA", EVP_PKEY_get0_type_name(key.get())));
  }
  return key;
}

size_t rsa_oaep_max_plaintext(const EVP_PKEY* key) {
  auto size = static_cast<size_t>(EVP_PKEY_get_size(key));
  return size > kOaepSha1Overhead ? size - kOaepSha1Overhead : 0;
}

util::Result<std::string> rsa_oaep_encrypt(const EVP_PKEY* key, std::string_view plain) {
  size_t max = rsa_oaep_max_plaintext(key);
  if (plain.size() > max) {
    return util::fail(
        fmt::format("{} bytes are more than a {}-bit RSA key takes with OAEP ({} at most)",
                    plain.size(), EVP_PKEY_get_bits(key), max));
  }
  clear_openssl_errors();
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, unconst(key), nullptr));
  const auto* in = reinterpret_cast<const unsigned char*>(plain.data());
  size_t out_len = 0;
  bool ok = ctx && EVP_PKEY_encrypt_init(ctx.get()) > 0 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) > 0 &&
            EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, in, plain.size()) > 0;
  std::string out;
  if (ok) {
    out.resize(out_len);
    ok = EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len, in,
                          plain.size()) > 0;
  }
  if (!ok) return util::fail(openssl_error("RSA-OAEP encryption failed"));
  out.resize(out_len);
  return out;
}

}  // namespace tlsgate::pki
