// pki::rsa_oaep_*: keys from PEM, the OAEP limit, and ciphertexts that the
// openssl CLI (the oracle) decrypts with OAEP's defaults, as MySQL does.
#include "pki/rsa_oaep.h"

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "unit/pki/pki_test_util.h"

namespace tlsgate::pki {
namespace {

using test_util::openssl_ok;
using test_util::q;

EvpPkeyPtr key_of(KeySpec::Type type) {
  KeySpec spec;
  spec.type = type;
  return generate_key(spec).value();
}

std::string public_pem(const EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(RsaOaep, OpensslDecryptsWhatWeEncryptWithItsOaepDefaults) {
  auto key = key_of(KeySpec::Type::kRsa);
  auto pub = rsa_public_key_from_pem(public_pem(key.get()));
  ASSERT_TRUE(pub) << pub.error().message();
  const std::string secret("hunter2\0with a NUL", 18);
  auto cipher = rsa_oaep_encrypt(pub->get(), secret);
  ASSERT_TRUE(cipher) << cipher.error().message();
  EXPECT_EQ(cipher->size(), 256u);  // a 2048-bit key's modulus

  test::TempDir dir;
  test::write_key(dir / "private.key", key.get());
  test::write_text(dir / "cipher.bin", *cipher);
  openssl_ok("openssl pkeyutl -decrypt -inkey " + q(dir / "private.key") +
             " -pkeyopt rsa_padding_mode:oaep -in " + q(dir / "cipher.bin") + " -out " +
             q(dir / "plain.bin") + " 2>&1");
  EXPECT_EQ(test_util::read(dir / "plain.bin"), secret);
}

TEST(RsaOaep, EachEncryptionIsFreshlyPadded) {
  auto key = key_of(KeySpec::Type::kRsa);
  auto a = rsa_oaep_encrypt(key.get(), "same");
  auto b = rsa_oaep_encrypt(key.get(), "same");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(RsaOaep, PlaintextLongerThanTheKeyTakesFailsSayingTheLimit) {
  auto key = key_of(KeySpec::Type::kRsa);
  EXPECT_EQ(rsa_oaep_max_plaintext(key.get()), 214u);
  EXPECT_TRUE(rsa_oaep_encrypt(key.get(), std::string(214, 'p')));
  auto r = rsa_oaep_encrypt(key.get(), std::string(215, 'p'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "215 bytes are more than a 2048-bit RSA key takes with OAEP (214 at most)");
}

TEST(RsaOaep, WhatIsNotAnRsaPublicKeySaysWhatItIs) {
  auto garbage = rsa_public_key_from_pem("not a key");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message(), "not a PEM public key (-----BEGIN PUBLIC KEY-----)");

  auto ec = key_of(KeySpec::Type::kEcP256);
  auto not_rsa = rsa_public_key_from_pem(public_pem(ec.get()));
  ASSERT_FALSE(not_rsa);
  EXPECT_EQ(not_rsa.error().message(), "the public key is EC, not RSA");
}

}  // namespace
}  // namespace tlsgate::pki
