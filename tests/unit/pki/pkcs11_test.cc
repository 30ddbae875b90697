#include "pki/pkcs11.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "pki/chain_verify.h"
#include "pki/issuer.h"
#include "pki/loader.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<X509Ptr> ca_list(X509* ca) {
  std::vector<X509Ptr> v;
  v.push_back(up_ref(ca));
  return v;
}

// One SoftHSM store per test process; its tokens are made before the module
// is first loaded (SoftHSM lists its tokens when it is initialised).
class PkiPkcs11 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ec_uri_ = new std::string(test::make_token("unit-ec", "1234"));
    rsa_uri_ = new std::string(test::make_token("unit-rsa", "1234", "rsakey", "rsa:2048"));
    test::make_token("unit-pin", "1234", "pinkey");
    away_uri_ = new std::string(test::make_token("unit-away", "1234", "awaykey"));
  }
  static std::string module() { return test::softhsm().module; }
  static std::optional<util::Secret> pin(const char* p = "1234") { return util::Secret(p); }
  static std::string* ec_uri_;
  static std::string* rsa_uri_;
  static std::string* away_uri_;
};
std::string* PkiPkcs11::ec_uri_ = nullptr;
std::string* PkiPkcs11::rsa_uri_ = nullptr;
std::string* PkiPkcs11::away_uri_ = nullptr;

TEST(PkiPkcs11Uri, RecognisesAndParsesRfc7512) {
  EXPECT_TRUE(is_pkcs11_uri("pkcs11:token=a;object=b"));
  EXPECT_TRUE(is_pkcs11_uri("PKCS11:object=b"));
  EXPECT_FALSE(is_pkcs11_uri("private.key"));
  EXPECT_FALSE(is_pkcs11_uri("/etc/pkcs11:x"));
  auto u = parse_pkcs11_uri("pkcs11:token=My%20Token;object=web;id=%01%AB;type=private");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->token, "My Token");
  EXPECT_EQ(u->object, "web");
  EXPECT_EQ(u->id, std::string("\x01\xab", 2));
}

TEST(PkiPkcs11Uri, RefusesWhatNamesNoKey) {
  EXPECT_EQ(parse_pkcs11_uri("pkcs11:token=a").error().message(),
            "pkcs11: the URI names no key; add object=LABEL or id=%XX");
  EXPECT_EQ(parse_pkcs11_uri("pkcs11:object=a;type=cert").error().message(),
            "pkcs11: type=cert names no private key; use type=private");
  EXPECT_EQ(parse_pkcs11_uri("pkcs11:object=a%2").error().message(),
            "pkcs11: \"object\" has a bad percent escape");
}

TEST(PkiPkcs11Uri, RedactsThePin) {
  EXPECT_EQ(redact_pkcs11_uri("pkcs11:token=a;object=b?pin-value=1234"), "pkcs11:token=a;object=b");
  EXPECT_EQ(redact_pkcs11_uri("pkcs11:token=a;pin-value=99;object=b"), "pkcs11:token=a;object=b");
}

TEST_F(PkiPkcs11, LoadsAnEcKeyThatSignsAndMatchesItsCertificate) {
  auto key = load_pkcs11_key(*ec_uri_, module(), pin());
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_EC);
  // A certificate over the token's public key, then the key matches it.
  auto ca = test::make_test_ca();
  CertRequest req;
  req.names = {"hsm.test"};
  req.existing_key = up_ref(key->get());
  auto leaf = issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock());
  ASSERT_TRUE(leaf) << leaf.error().message();
  EXPECT_TRUE(check_key_matches(leaf->cert.get(), key->get(), "cert", "key"));
  EXPECT_TRUE(test_signature(key->get(), "key"));
}

TEST_F(PkiPkcs11, SignsACertificateWithAnRsaKeyOnTheToken) {
  auto key = load_pkcs11_key(*rsa_uri_, module(), pin());
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_RSA);
  // A CA certificate over the token's key, self-signed through the token.
  CaRequest creq;
  creq.name = "token CA";
  creq.existing_key = up_ref(key->get());
  auto ca = create_ca(creq, util::SystemClock());
  ASSERT_TRUE(ca) << ca.error().message();
  EXPECT_EQ(X509_verify(ca->cert.get(), key->get()), 1);
  CertRequest req;
  req.names = {"leaf.test"};
  auto leaf = issue_certificate(req, ca->cert.get(), key->get(), util::SystemClock());
  ASSERT_TRUE(leaf) << leaf.error().message();
  auto chain = verify_chain(leaf->cert.get(), {}, ca_list(ca->cert.get()), {}, {});
  EXPECT_TRUE(chain) << chain.error().message();
}

TEST_F(PkiPkcs11, SignsFromSeveralThreadsAtOnce) {
  auto key = load_pkcs11_key(*ec_uri_, module(), pin());
  ASSERT_TRUE(key) << key.error().message();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!test_signature(key->get(), "key")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// SoftHSM lists no slot at all once a token folder went and came back, until
// the module restarts: the load after the token returns restarts it, while
// another thread keeps signing with the key (it fails while the token is
// away; no thread is inside the module while it restarts).
//
// The module is a copy of SoftHSM's under another path: a module of its own
// to the registry (and to the dynamic loader, another inode), so that the
// keys the other tests keep on the shared one do not count. A module one of
// whose keys still signs is not restarted (pki/pkcs11.cc), and whether
// SoftHSM, with a token folder gone, still signs with another token's key
// depended on timing: the test failed one run in two on a busy machine.
TEST_F(PkiPkcs11, ATokenThatComesBackIsFoundAgainAfterAModuleRestart) {
  test::TempDir own;
  const std::filesystem::path copy = own.path() / "libsofthsm2-away.so";
  std::filesystem::copy_file(PkiPkcs11::module(), copy);
  const std::string away_module = copy.string();
  auto away = load_pkcs11_key(*away_uri_, away_module, pin());
  ASSERT_TRUE(away) << away.error().message();
  std::atomic<bool> stop{false};
  std::atomic<int> signatures{0};
  std::atomic<int> failures{0};
  std::thread signer([&] {
    for (int i = 0; i < 1000000 && !stop.load(); ++i) {
      if (test_signature(away->get(), "away")) {
        ++signatures;
      } else {
        ++failures;
      }
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      thread.join();
    }
  } joiner{stop, signer};
  auto wait_for = [](const std::atomic<int>& n) {
    for (int i = 0; i < 500 && n.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return n.load();
  };
  ASSERT_GT(wait_for(signatures), 0);
  // Out of the token directory (a folder left in it is a token to SoftHSM).
  const auto folder = test::token_folder("unit-away");
  const std::filesystem::path moved = test::softhsm().dir / "unit-away.moved";
  std::filesystem::rename(folder, moved);
  ASSERT_GT(wait_for(failures), 0);
  auto gone = load_pkcs11_key(*away_uri_, away_module, pin());
  ASSERT_FALSE(gone);
  EXPECT_THAT(gone.error().message(), HasSubstr("token=unit-away"));
  EXPECT_FALSE(load_pkcs11_key(*away_uri_, away_module, pin()));
  std::filesystem::rename(moved, folder);
  auto back = load_pkcs11_key(*away_uri_, away_module, pin());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(test_signature(back->get(), "back"));
  auto again = load_pkcs11_key(*away_uri_, away_module, pin());
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->get(), back->get());
}

TEST_F(PkiPkcs11, AWrongPinIsRefusedWithoutPrintingIt) {
  // A token of its own: no session of this process is logged in to it yet.
  auto key = load_pkcs11_key("pkcs11:token=unit-pin;object=pinkey", module(), pin("999999"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message(),
            "pkcs11:token=unit-pin;object=pinkey: the token \"unit-pin\" refused the PIN given in "
            "private_key_password");
  EXPECT_THAT(key.error().message(), Not(HasSubstr("999999")));
}

TEST_F(PkiPkcs11, AMissingPinIsNamed) {
  auto key = load_pkcs11_key("pkcs11:token=unit-pin;object=pinkey", module(), std::nullopt);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message(),
            "pkcs11:token=unit-pin;object=pinkey: token \"unit-pin\" needs a PIN; give it in "
            "private_key_password");
}

TEST_F(PkiPkcs11, AnUnknownTokenListsTheTokens) {
  auto key = load_pkcs11_key("pkcs11:token=nope;object=key?pin-value=1234", module(), pin());
  ASSERT_FALSE(key);
  EXPECT_THAT(key.error().message(),
              HasSubstr("pkcs11:token=nope;object=key: no token matches; the module has "));
  EXPECT_THAT(key.error().message(), HasSubstr("\"unit-ec\" (serial "));
  EXPECT_THAT(key.error().message(), Not(HasSubstr("1234")));
}

TEST_F(PkiPkcs11, AnUnknownObjectListsTheKeys) {
  auto key = load_pkcs11_key("pkcs11:token=unit-ec;object=other", module(), pin());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message(),
            "pkcs11:token=unit-ec;object=other: no private key matches on token \"unit-ec\"; it "
            "holds \"key\"");
}

TEST_F(PkiPkcs11, AModuleThatCannotBeLoadedIsNamed) {
  auto key = load_pkcs11_key(*ec_uri_, "/nonexistent/libnope.so", pin());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message(),
            "cannot load the PKCS#11 module /nonexistent/libnope.so: no such file");
  test::TempDir dir;
  test::write_text(dir / "fake.so", "not a library");
  key = load_pkcs11_key(*ec_uri_, dir / "fake.so", pin());
  ASSERT_FALSE(key);
  EXPECT_THAT(key.error().message(),
              HasSubstr("cannot load the PKCS#11 module " + (dir / "fake.so").string()));
}

}  // namespace
}  // namespace tlsgate::pki
