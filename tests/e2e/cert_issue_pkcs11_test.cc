// `tlsgate cert issue --ca-key pkcs11:...`: a CA whose key is on a SoftHSM
// token (support/softhsm.h) signs a certificate that `openssl verify` accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertIssuePkcs11 : public E2eTest {
 protected:
  // tokenca/ca.crt: a self-signed CA certificate over the key `label` holds.
  void make_token_ca(const std::string& label) {
    uri_ = test::make_token(label, "2468", "cakey");
    // The self-signed CA certificate, signed through the token by openssl
    // and libp11's engine (this test process never opens the token itself).
    fs::create_directories(path("tokenca"));
    Proc r =
        shell("PKCS11_MODULE_PATH=" + test::softhsm().module +
              " openssl req -x509 -new -engine pkcs11 -keyform engine -key '" + uri_ +
              ";pin-value=2468' -subj '/CN=Token CA' -days 30 -addext "
              "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
              "-out tokenca/ca.crt");
    ASSERT_EQ(r.code, 0) << describe(r);
    test::write_text(path("pin"), "2468\n", 0600);
  }
  std::string issue_args(const std::string& pin_file) const {
    return "cert issue --ca tokenca --ca-key '" + uri_ + "' --pkcs11-module " +
           test::softhsm().module + " --pin-file " + pin_file + " --out leaf db1.example.com";
  }
  std::string uri_;
};

TEST_F(CertIssuePkcs11, SignsWithTheCaKeyOnTheToken) {
  make_token_ca("ca-token");
  Proc r = tg_ok(issue_args("pin"));
  EXPECT_EQ(shell("openssl verify -CAfile tokenca/ca.crt -purpose sslserver leaf/public.crt").code,
            0);
  EXPECT_FALSE(fs::exists(path("tokenca/ca.key")));  // nothing of the CA key left the token
}

TEST_F(CertIssuePkcs11, AWrongPinIsRefusedWithoutPrintingIt) {
  make_token_ca("ca-pin");
  test::write_text(path("badpin"), "13579\n", 0600);
  Proc r = tg(issue_args("badpin"));
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.out + r.err,
              HasSubstr("pkcs11:token=ca-pin;object=cakey;type=private: the token \"ca-pin\" "
                        "refused the PIN given in --pin-file"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("13579")));
  EXPECT_FALSE(fs::exists(path("leaf/public.crt")));
}

TEST_F(CertIssuePkcs11, AMissingModuleNamesTheOption) {
  make_token_ca("ca-module");
  Proc r = tg("cert issue --ca tokenca --ca-key '" + uri_ + "' --out leaf db1.example.com");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("needs the token's module: pass --pkcs11-module PATH"));
}

}  // namespace
}  // namespace tlsgate::e2e
