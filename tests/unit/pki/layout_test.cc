#include "pki/layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/loader.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::StartsWith;
using namespace test_util;

class PkiInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("Install CA");
    leaf_ = test::make_leaf(ca_, {"db1.example.com"});
    test::write_cert(in_ / "node1.pem", leaf_.cert.get());
    test::write_key(in_ / "node1.key", leaf_.key.get());
    test::write_cert(in_ / "ca.pem", ca_.ca.cert.get());
  }

  InstallRequest request() const {
    InstallRequest req;
    req.scope = "bolt";
    req.cert = in_ / "node1.pem";
    req.key = in_ / "node1.key";
    req.base = out_.path();
    return req;
  }

  bool nothing_written() const { return !std::filesystem::exists(out_ / "certificates"); }

  test::TempDir in_, out_;
  test::TestCa ca_;
  Issued leaf_;
};

TEST_F(PkiInstall, LaysOutThePolicyFolderWithModes) {
  auto req = request();
  req.ca = in_ / "ca.pem";
  auto folder = install(req);
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(*folder, out_ / "certificates" / "bolt");
  EXPECT_EQ(mode_of(*folder / "private.key"), 0400u);
  EXPECT_EQ(mode_of(*folder / "public.crt"), 0644u);
  EXPECT_EQ(mode_of(*folder / "trusted"), 0755u);
  EXPECT_EQ(mode_of(*folder / "revoked"), 0755u);
  EXPECT_EQ(mode_of(*folder / "trusted" / "ca.crt"), 0644u);
  EXPECT_EQ(read(*folder / "private.key"), read(in_ / "node1.key"));
  EXPECT_EQ(read(*folder / "public.crt"), pem(leaf_.cert.get()));
  EXPECT_EQ(read(*folder / "trusted" / "ca.crt"), pem(ca_.ca.cert.get()));
  EXPECT_TRUE(std::filesystem::is_empty(*folder / "revoked"));
  openssl_ok("openssl verify -CAfile " + q(*folder / "trusted" / "ca.crt") + " " +
             q(*folder / "public.crt"));
}

TEST_F(PkiInstall, WithoutCaTrustsTheCertificateItselfUnderItsName) {
  auto folder = install(request());
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(read(*folder / "trusted" / "node1.pem"), pem(leaf_.cert.get()));

  auto req = request();
  req.scope = "https";
  std::filesystem::path der = in_ / "node1.der";
  ASSERT_TRUE(util::write_file_atomic(der, certificate_der(leaf_.cert.get()).value(), 0644));
  req.cert = der;
  folder = install(req);
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(read(*folder / "trusted" / "node1.crt"), pem(leaf_.cert.get()));
  EXPECT_EQ(read(*folder / "public.crt"), pem(leaf_.cert.get()));
}

TEST_F(PkiInstall, ChainInTheCertificateFileGoesToPublicCrt) {
  ASSERT_TRUE(util::write_file_atomic(in_ / "chain.pem",
                                      pem(leaf_.cert.get()) + pem(ca_.ca.cert.get()), 0644));
  auto req = request();
  req.cert = in_ / "chain.pem";
  req.ca = in_ / "ca.pem";
  auto folder = install(req);
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(read(*folder / "public.crt"), pem(leaf_.cert.get()) + pem(ca_.ca.cert.get()));
}

TEST_F(PkiInstall, ReplacesAnExistingReadOnlyKey) {
  ASSERT_TRUE(install(request()));
  auto renewed = test::make_leaf(ca_, {"db1.example.com"});
  test::write_cert(in_ / "node1.pem", renewed.cert.get());
  test::write_key(in_ / "node1.key", renewed.key.get());
  auto folder = install(request());
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(read(*folder / "private.key"), read(in_ / "node1.key"));
  EXPECT_EQ(mode_of(*folder / "private.key"), 0400u);
  EXPECT_EQ(read(*folder / "public.crt"), pem(renewed.cert.get()));
}

TEST_F(PkiInstall, ValidatesBeforeWritingAnything) {
  auto req = request();
  req.scope = "bolt/../x";
  auto bad_scope = install(req);
  ASSERT_FALSE(bad_scope);
  EXPECT_EQ(bad_scope.error().message(),
            "\"bolt/../x\" is not a valid scope name; use letters, digits, '_' or '-' (e.g. bolt, "
            "https, cluster)");

  auto other = test::make_leaf(ca_, {"db2"});
  test::write_key(in_ / "other.key", other.key.get());
  req = request();
  req.key = in_ / "other.key";
  auto mismatch = install(req);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message(), (in_ / "other.key").string() +
                                            " does not match the certificate in " +
                                            (in_ / "node1.pem").string() +
                                            " (CN=db1.example.com,O=tlsgate); use the key the "
                                            "certificate was issued for, or reissue the "
                                            "certificate");

  auto stranger = test::make_test_ca("Stranger CA");
  test::write_cert(in_ / "stranger.pem", stranger.ca.cert.get());
  req = request();
  req.ca = in_ / "stranger.pem";
  auto wrong_ca = install(req);
  ASSERT_FALSE(wrong_ca);
  EXPECT_THAT(wrong_ca.error().message(),
              StartsWith((in_ / "node1.pem").string() + " does not chain to the CA in " +
                         (in_ / "stranger.pem").string() +
                         ": certificate CN=db1.example.com,O=tlsgate (serial "));

  req = request();
  req.cert = in_ / "missing.pem";
  auto missing = install(req);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), (in_ / "missing.pem").string() + ": no such file");
  EXPECT_TRUE(nothing_written());
}

TEST_F(PkiInstall, EncryptedKeyIsCheckedWithItsPasswordAndCopiedAsIs) {
  ASSERT_TRUE(write_private_key(in_ / "enc.key", leaf_.key.get(), 0600, util::Secret("pw")));
  auto req = request();
  req.key = in_ / "enc.key";
  req.key_password_advice = "decrypt it first";
  auto locked = install(req);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().message(),
            (in_ / "enc.key").string() + ": the private key is encrypted; decrypt it first");
  EXPECT_TRUE(nothing_written());
  req.key_password = util::Secret("pw");
  auto folder = install(req);
  ASSERT_TRUE(folder) << folder.error().message();
  EXPECT_EQ(read(*folder / "private.key"), read(in_ / "enc.key"));
}

}  // namespace
}  // namespace tlsgate::pki
