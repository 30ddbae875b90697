#include "admin/certificate_upload.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/base64.h"
#include "pki/encode.h"
#include "pki/pkcs12.h"
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

}  // namespace
}  // namespace tlsgate::admin
