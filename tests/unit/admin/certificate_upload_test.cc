#include "admin/certificate_upload.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/base64.h"
#include "pki/encode.h"
#include "pki/pkcs12.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::admin {
namespace {

std::string pem(const X509* c) { return *pki::certificate_pem(c); }
std::string key_pem(const EVP_PKEY* k) { return *pki::private_key_pem(k); }

TEST(CertificateUpload, BodyFormsIncludingPkcs12) {
  auto ca = test::make_test_ca("Upload CA");
  auto fresh = test::make_leaf(ca, {"localhost", "127.0.0.1"});
  nlohmann::json pemform = {{"certificate", pem(fresh.cert.get())},
                            {"private_key", key_pem(fresh.key.get())}};
  auto m = parse_upload(pemform.dump());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->certificate_pem, pem(fresh.cert.get()));

  auto p12 = pki::write_pkcs12(fresh.cert.get(), fresh.key.get(), {}, util::Secret("s3cret"), "x");
  ASSERT_TRUE(p12);
  auto good = parse_upload(
      nlohmann::json{{"pkcs12", pki::encode_base64(*p12)}, {"password", "s3cret"}}.dump());
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(good->certificate_pem, pem(fresh.cert.get()));
  EXPECT_NE(good->private_key_pem.find("PRIVATE KEY"), std::string::npos);
  auto wrong =
      parse_upload(nlohmann::json{{"pkcs12", pki::encode_base64(*p12)}, {"password", "no"}}.dump());
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("wrong password"), std::string::npos);
}

// Review s22 section 11: a link into a renewal tool's folder is not written over.
TEST(CertificateUpload, SymbolicLinksAreRefusedNamingTheTarget) {
  namespace fs = std::filesystem;
  test::TempDir dir;
  const auto base = dir.path();
  fs::create_directories(base / "live");
  fs::create_directories(base / "policy");
  test::write_text(base / "live" / "cert.pem", "x");
  test::write_text(base / "policy" / "private.key", "x");
  config::Policy policy;
  policy.public_certificate = base / "policy" / "public.crt";
  policy.private_key = base / "policy" / "private.key";
  fs::create_symlink("../live/cert.pem", policy.public_certificate);
  auto refused = refuse_symbolic_links(policy);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            policy.public_certificate.string() + " is a symbolic link to ../live/cert.pem (" +
                (fs::canonical(base) / "live" / "cert.pem").string() +
                "); update the target (where your renewal tool writes) or replace the link by a "
                "file first");
  fs::remove(policy.public_certificate);
  test::write_text(policy.public_certificate, "x");
  EXPECT_TRUE(refuse_symbolic_links(policy));
  policy.public_certificate = base / "policy" / "absent.crt";  // not there yet: nothing to refuse
  EXPECT_TRUE(refuse_symbolic_links(policy));
}

}  // namespace
}  // namespace tlsgate::admin
