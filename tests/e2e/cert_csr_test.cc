// `tlsgate cert csr`: requests openssl verifies and an outside CA (made with
// openssl commands here) signs; the result serves through `tlsgate serve`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"
#include "support/echo_server.h"
#include "support/gate_process.h"
#include "support/loopback.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertCsr : public E2eTest {
 protected:
  std::string req_text(const std::string& file) const {
    Proc r = shell("openssl req -in " + q(file) + " -verify -noout -text 2>&1");
    EXPECT_EQ(r.code, 0) << describe(r);
    return r.out;
  }

  // An outside CA, made and run with openssl commands only.
  void make_openssl_ca() const {
    Proc r = shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
        "oca.key -out oca.crt -days 30 -subj '/O=Outside/CN=Outside CA' "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
        "2>&1");
    ASSERT_EQ(r.code, 0) << describe(r);
  }
  // The outside CA signs REQ into OUT, copying the requested extensions as CAs configured
  // with copy_extensions do.
  void openssl_sign(const std::string& req, const std::string& out) const {
    Proc r = shell("openssl x509 -req -in " + q(req) + " -CA oca.crt -CAkey oca.key -days 30 " +
                   "-copy_extensions copy -out " + q(out) + " 2>&1");
    ASSERT_EQ(r.code, 0) << describe(r);
  }
};

TEST_F(CertCsr, RequestVerifiesAndAsksForIssuesExtensions) {
  Proc r = tg_ok("cert csr --out req --client db1.example.com 10.1.2.3");
  EXPECT_EQ(r.out,
            "request for db1.example.com, 10.1.2.3 written: req/request.csr, req/private.key\n");
  EXPECT_EQ(mode_of(path("req/private.key")), 0600U);
  EXPECT_EQ(mode_of(path("req/request.csr")), 0644U);
  std::string text = req_text("req/request.csr");
  EXPECT_THAT(text, HasSubstr("verify OK"));
  EXPECT_THAT(text, HasSubstr("Subject: CN = db1.example.com"));
  EXPECT_THAT(text, HasSubstr("DNS:db1.example.com, IP Address:10.1.2.3"));
  EXPECT_THAT(text, HasSubstr("TLS Web Client Authentication"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("TLS Web Server Authentication")));
  EXPECT_THAT(text, HasSubstr("ASN1 OID: prime256v1"));
  // The request's key is the private key's.
  Proc pub = shell("openssl req -in req/request.csr -noout -pubkey");
  EXPECT_EQ(pub.out, openssl_pubkey_of_key(dir_, "req/private.key"));
}

TEST_F(CertCsr, RefusesToOverwriteWithoutForceAndReusesTheKey) {
  tg_ok("cert csr --out req --rsa 2048 --key-format pkcs1 db1");
  EXPECT_THAT(read_file(path("req/private.key")), HasSubstr("-----BEGIN RSA "
                                                            "PRIVATE KEY-----"));
  std::string key = read_file(path("req/private.key"));
  Proc again = tg("cert csr --out req db1");
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err,
            "tlsgate: error: req/private.key exists; pass --force to replace it, or --reuse-key "
            "to make a new request with the same key\n");
  EXPECT_EQ(read_file(path("req/private.key")), key);
  Proc renewed = tg_ok("cert csr --out req --reuse-key db1 db1.example.com");
  EXPECT_THAT(renewed.out, HasSubstr("req/private.key (kept)"));
  EXPECT_EQ(read_file(path("req/private.key")), key);
  EXPECT_THAT(req_text("req/request.csr"), HasSubstr("DNS:db1, DNS:db1.example.com"));
  tg_ok("cert csr --out req --force db1");
  EXPECT_NE(read_file(path("req/private.key")), key);

  Proc ec_pkcs1 = tg("cert csr --out other --key-format pkcs1 db1");
  EXPECT_EQ(ec_pkcs1.code, 2);
  EXPECT_EQ(ec_pkcs1.err,
            "tlsgate: error: --key-format pkcs1: PKCS#1 holds RSA keys only and the new key would "
            "be ECDSA P-256; add --rsa 2048 or use --key-format pkcs8\n");
}

// --reuse-key takes no password: an encrypted key is refused with the way to decrypt it.
TEST_F(CertCsr, ReuseOfAnEncryptedKeySaysHowToDecryptIt) {
  tg_ok("cert csr --out req db1");
  test::write_text(path("pw"), "s3cret\n", 0600);
  ASSERT_TRUE(encrypt_key("req/private.key", "req/private.key"));
  std::string request = read_file(path("req/request.csr"));
  Proc r = tg("cert csr --out req --reuse-key db1 db2");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: req/private.key: the private key is encrypted; this command cannot "
            "read an encrypted key: give it a decrypted copy (`openssl pkey -in KEY -out "
            "PLAIN.key` asks for the password)\n");
  EXPECT_EQ(read_file(path("req/request.csr")), request);
}

// The key and the request are written together or not at all: when the request cannot be
// written (a folder stands at its path), no new key is left behind and an old key stays.
TEST_F(CertCsr, KeyAndRequestAreWrittenAllOrNothing) {
  fs::create_directories(path("fresh/request.csr"));
  Proc fresh = tg("cert csr --out fresh --force db1");
  EXPECT_EQ(fresh.code, 1) << describe(fresh);
  EXPECT_THAT(fresh.err, HasSubstr("request.csr"));
  EXPECT_FALSE(fs::exists(path("fresh/private.key")));
  for (const auto& e : fs::directory_iterator(path("fresh"))) {
    EXPECT_EQ(e.path().filename(), "request.csr") << "left behind: " << e.path();
  }

  tg_ok("cert csr --out renew db1");
  std::string key = read_file(path("renew/private.key"));
  fs::remove(path("renew/request.csr"));
  fs::create_directories(path("renew/request.csr"));
  Proc renew = tg("cert csr --out renew --force db1");
  EXPECT_EQ(renew.code, 1) << describe(renew);
  EXPECT_EQ(read_file(path("renew/private.key")), key);
  EXPECT_EQ(mode_of(path("renew/private.key")), 0600U);
  for (const auto& e : fs::directory_iterator(path("renew"))) {
    EXPECT_THAT(e.path().filename().string(), ::testing::AnyOf("request.csr", "private.key"))
        << "left behind: " << e.path();
  }
}

// cert csr -> an outside CA signs with `openssl x509 -req` -> `tlsgate serve` serves it and
// `openssl s_client` verifies it against the outside CA.
TEST_F(CertCsr, SignedByAnOutsideCaAndServedByTheGate) {
  make_openssl_ca();
  tg_ok("cert csr --out gate --server localhost 127.0.0.1");
  openssl_sign("gate/request.csr", "gate/public.crt");
  Proc v = shell("openssl verify -CAfile oca.crt -purpose sslserver gate/public.crt");
  ASSERT_EQ(v.code, 0) << describe(v);
  tg_ok("cert install --scope front --cert gate/public.crt --key gate/private.key --base .");

  test::EchoServer echo;
  int port = test::free_loopback_port();
  test::GateConfig conf;
  conf.set("server.shutdown_timeout", "1")
      .set("ssl.policy.front.enabled", "true")
      .set("ssl.policy.front.base_directory", (dir_ / "certificates/front").string())
      .set("ssl.policy.front.client_auth", "NONE")
      .set("connector.web.listen_address", "127.0.0.1:" + std::to_string(port))
      .set("connector.web.upstream_address", "127.0.0.1:" + std::to_string(echo.port()))
      .set("connector.web.ssl_policy", "front");
  test::GateProcess gate(dir_, conf.text());
  std::string why = gate.wait_serving(port);
  ASSERT_EQ(why, "") << gate.report();
  Proc s = shell("echo | timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                 " -servername localhost -verify_hostname localhost -verify_return_error "
                 "-CAfile oca.crt 2>&1");
  EXPECT_THAT(s.out, HasSubstr("Verify return code: 0 (ok)")) << s.out << gate.report();
  EXPECT_THAT(s.out, HasSubstr("issuer=O = Outside, CN = Outside CA"));
}

}  // namespace
}  // namespace tlsgate::e2e
