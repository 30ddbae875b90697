// parse_private_key / load_private_key of pki/loader.h (src/pki/private_key_loader.cc).
#include "pki/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader_fixture.h"
#include "pki/encode.h"
#include "pki/private_key_loader.h"
#include "pki_test_util.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_util;

class PkiKeyLoader : public LoaderFixture {};

TEST_F(PkiKeyLoader, KeyFileWithCertificateFirstStillFindsTheKey) {
  auto key =
      load_private_key(file("combined.pem", read(dir_ / "leaf.crt") + read(dir_ / "leaf.key")), {});
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), leaf_.key.get()), 1);
}

TEST_F(PkiKeyLoader, ReadsPkcs8AndPkcs1KeysPemAndDer) {
  auto pkcs8 = load_private_key(dir_ / "leaf.key", {});
  ASSERT_TRUE(pkcs8) << pkcs8.error().message();
  EXPECT_EQ(EVP_PKEY_eq(pkcs8->get(), leaf_.key.get()), 1);

  auto rsa = pkcs1_rsa_key();
  EXPECT_THAT(read(rsa), StartsWith("-----BEGIN RSA "
                                    "PRIVATE KEY-----"));
  auto pkcs1 = load_private_key(rsa, {});
  ASSERT_TRUE(pkcs1) << pkcs1.error().message();
  EXPECT_EQ(EVP_PKEY_get_bits(pkcs1->get()), 2048);

  openssl_ok("openssl ecparam -name prime256v1 -genkey -noout -out " + q(dir_ / "ec1.key"));
  EXPECT_THAT(read(dir_ / "ec1.key"), StartsWith("-----BEGIN EC "
                                                 "PRIVATE KEY-----"));
  auto ec = load_private_key(dir_ / "ec1.key", {});
  ASSERT_TRUE(ec) << ec.error().message();
  EXPECT_EQ(EVP_PKEY_get_base_id(ec->get()), EVP_PKEY_EC);

  openssl_ok("openssl rsa -traditional -in " + q(rsa) + " -outform DER -out " +
             q(dir_ / "rsa1.der"));
  openssl_ok("openssl pkey -in " + q(rsa) + " -outform DER -out " + q(dir_ / "rsa8.der"));
  for (const char* der : {"rsa1.der", "rsa8.der"}) {
    auto key = load_private_key(dir_ / der, {});
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(EVP_PKEY_eq(key->get(), pkcs1->get()), 1) << der;
  }
}

TEST_F(PkiKeyLoader, EncryptedPkcs8NeedsTheRightPassword) {
  auto rsa = pkcs1_rsa_key();
  auto enc = dir_ / "enc.key";
  openssl_ok("openssl pkcs8 -topk8 -v2 aes256 -in " + q(rsa) + " -out " + q(enc) +
             " -passout pass:s3cret");
  EXPECT_THAT(read(enc), StartsWith("-----BEGIN ENCRYPTED "
                                    "PRIVATE KEY-----"));

  auto none = load_private_key(enc, {}, "set ssl.policy.bolt.private_key_password");
  ASSERT_FALSE(none);
  EXPECT_EQ(
      none.error().message(),
      enc.string() + ": the private key is encrypted; set ssl.policy.bolt.private_key_password");
  auto wrong = load_private_key(enc, util::Secret("nope"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message(),
            enc.string() + ": wrong password for the encrypted private key");
  auto right = load_private_key(enc, util::Secret("s3cret"));
  ASSERT_TRUE(right) << right.error().message();
  EXPECT_EQ(EVP_PKEY_eq(right->get(), load_private_key(rsa, {}).value().get()), 1);
}

TEST_F(PkiKeyLoader, EncryptedDerPkcs8NeedsTheRightPassword) {
  auto enc = dir_ / "enc.der";
  openssl_ok("openssl pkcs8 -topk8 -v2 aes256 -in " + q(dir_ / "leaf.key") + " -outform DER -out " +
             q(enc) + " -passout pass:s3cret");
  EXPECT_EQ(load_private_key(enc, {}, "pass --key-password-file").error().message(),
            enc.string() + ": the private key is encrypted; pass --key-password-file");
  EXPECT_EQ(load_private_key(enc, util::Secret("nope")).error().message(),
            enc.string() + ": wrong password for the encrypted private key");
  auto right = load_private_key(enc, util::Secret("s3cret"));
  ASSERT_TRUE(right) << right.error().message();
  EXPECT_EQ(EVP_PKEY_eq(right->get(), leaf_.key.get()), 1);
}

TEST_F(PkiKeyLoader, LegacyEncryptedPemNeedsTheRightPassword) {
  auto rsa = pkcs1_rsa_key();
  auto enc = dir_ / "legacy.key";
  openssl_ok("openssl rsa -traditional -aes256 -in " + q(rsa) + " -out " + q(enc) +
             " -passout pass:s3cret");
  EXPECT_THAT(read(enc), HasSubstr("Proc-Type: 4,ENCRYPTED"));
  EXPECT_EQ(load_private_key(enc, {}, "decrypt it first").error().message(),
            enc.string() + ": the private key is encrypted; decrypt it first");
  EXPECT_EQ(load_private_key(enc, util::Secret("nope")).error().message(),
            enc.string() + ": wrong password for the encrypted private key");
  EXPECT_TRUE(load_private_key(enc, util::Secret("s3cret")));
}

// pki knows no config key or option: the advice is the caller's, and without one the message
// names none.
TEST_F(PkiKeyLoader, EncryptedKeyAdviceIsTheCallers) {
  ASSERT_TRUE(write_private_key(dir_ / "enc.key", leaf_.key.get(), 0600, util::Secret("pw")));
  std::string pem = read(dir_ / "enc.key");
  auto bare = parse_private_key(pem, "enc.key", std::nullopt);
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().message(),
            "enc.key: the private key is encrypted and no password was given for it");
  auto advised = parse_private_key(pem, "enc.key", std::nullopt, "pass --password-file");
  ASSERT_FALSE(advised);
  EXPECT_EQ(advised.error().message(),
            "enc.key: the private key is encrypted; pass --password-file");
  for (const auto& m : {bare.error().message(), advised.error().message()}) {
    EXPECT_THAT(m, ::testing::Not(HasSubstr("private_key_password")));
  }
}

TEST_F(PkiKeyLoader, PasswordForAPlainKeyIsIgnored) {
  EXPECT_TRUE(load_private_key(dir_ / "leaf.key", util::Secret("unused")));
}

TEST_F(PkiKeyLoader, TruncatedOrCorruptedKey) {
  std::string text = read(dir_ / "leaf.key");
  EXPECT_EQ(error_of_key("cut.key", text.substr(0, text.size() / 2)),
            path("cut.key") + ": truncated or corrupted private key: bad end line");
  std::string der = private_key_der(leaf_.key.get()).value();
  EXPECT_THAT(error_of_key("cut.der", der.substr(0, der.size() - 5)),
              StartsWith(path("cut.der") + ": truncated or corrupted private key: "));
  EXPECT_EQ(error_of_key("ssh.key",
                         "-----BEGIN OPENSSH "
                         "PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"),
            path("ssh.key") +
                ": an OpenSSH private key is not supported; convert it with "
                "`ssh-keygen -p -m PKCS8 -f " +
                path("ssh.key") + "`");
}

// Found by the private_key fuzzer: a P-256 PKCS#8 key whose ECPrivateKey holds a scalar of
// 102 bytes. OpenSSL decodes it but cannot encode it again (nor would it sign right): a
// damaged key, refused when read.
TEST_F(PkiKeyLoader, AKeyOpenSslCannotEncodeAgainIsCorrupted) {
  const unsigned char bytes[] = {
      0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
      0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04,
      0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x66, 0x7b, 0x20, 0x5a, 0xac, 0x5a, 0x2f,
      0xaf, 0x90, 0x11, 0xd3, 0x46, 0xe0, 0x9f, 0xf6, 0xa0, 0xc2, 0x94, 0xfe, 0x33, 0xbe,
      0xb0, 0x92, 0xd0, 0x31, 0x90, 0xeb, 0xc2, 0x8f, 0x61, 0x92, 0x92, 0x0e, 0xa1, 0x44,
      0x03, 0x42, 0x00, 0x04, 0x0e, 0xbb, 0x5f, 0x46, 0x06, 0x91, 0x0a, 0x63, 0xc7, 0x18,
      0x81, 0x3a, 0x4e, 0x8a, 0xf5, 0x09, 0xfe, 0xf7, 0x0f, 0xa3, 0xe2, 0x57, 0xa6, 0xae,
      0xf9, 0x3b, 0x34, 0xa7, 0x85, 0x07, 0xa2, 0x41, 0x66, 0x84, 0x91, 0x06, 0xf8, 0x27,
      0x86, 0xbb, 0x7b, 0xbf, 0x04, 0xc9, 0x68, 0xea, 0x4d, 0x5e, 0xb2, 0xdc, 0x66, 0x36,
      0x30, 0x4c, 0x78, 0x0e, 0xe5, 0x4d, 0x98, 0x3c, 0x61, 0x88, 0xe2, 0xe5,
  };
  auto key = parse_private_key(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes),
                               "odd.der", std::nullopt);
  ASSERT_FALSE(key.has_value());
  EXPECT_THAT(key.error().message(),
              StartsWith("odd.der: truncated or corrupted private key: its fields do not make a "
                         "valid key ("));
}

}  // namespace
}  // namespace tlsgate::pki
