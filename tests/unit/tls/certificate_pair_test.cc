#include "tls/certificate_pair.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "pki/encode.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

std::string pem(const X509* c) { return *pki::certificate_pem(c); }
std::string key_pem(const EVP_PKEY* k) { return *pki::private_key_pem(k); }
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

class PairCheck : public ::testing::Test {
 protected:
  PairCheck()
      : ca_(test::make_test_ca("Upload CA")),
        old_(test::make_leaf(ca_, {"localhost", "127.0.0.1"})),
        policy_(test::make_policy(dir_.path(), "pg", ca_, old_)) {
    target_.policy = policy_;
    target_.serves_clients = true;
    target_.listen_hosts = {"127.0.0.1", "localhost"};
  }
  CertificatePair material(const pki::Issued& leaf) {
    return {pem(leaf.cert.get()), key_pem(leaf.key.get())};
  }
  std::string refusal(const CertificatePair& m) {
    auto r = check_pair(m, target_, util::SystemClock::instance());
    if (r) return "";
    std::string all;
    for (const auto& s : r.error().reasons) all += s + "\n";
    return all;
  }

  test::TempDir dir_;
  test::TestCa ca_;
  pki::Issued old_;
  config::Policy policy_;
  PairTarget target_;
};

TEST_F(PairCheck, AGoodPairPassesAndIsWrittenWithModesAndBackups) {
  const auto old_key = test::read_text(policy_.private_key);
  const auto old_crt = test::read_text(policy_.public_certificate);
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto m = material(fresh);
  EXPECT_EQ(refusal(m), "");
  ASSERT_TRUE(install_pair(m, policy_));
  EXPECT_EQ(test::read_text(policy_.private_key), m.private_key_pem);
  EXPECT_EQ(test::read_text(policy_.public_certificate), m.certificate_pem);
  EXPECT_EQ(mode_of(policy_.private_key), 0400u);
  EXPECT_EQ(mode_of(policy_.public_certificate), 0644u);
  EXPECT_EQ(test::read_text(policy_.private_key.string() + ".bak"), old_key);
  EXPECT_EQ(test::read_text(policy_.public_certificate.string() + ".bak"), old_crt);
  EXPECT_EQ(mode_of(policy_.private_key.string() + ".bak"), 0400u);
  ASSERT_TRUE(restore_pair_backup(policy_));
  EXPECT_EQ(test::read_text(policy_.private_key), old_key);
  EXPECT_EQ(test::read_text(policy_.public_certificate), old_crt);
  EXPECT_EQ(mode_of(policy_.private_key), 0400u);
  // No temp file of the trial build is left in the policy's folder.
  for (const auto& e : fs::directory_iterator(policy_.private_key.parent_path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".tlsgate-upload")) << e.path();
  }
}

TEST_F(PairCheck, EveryReasonIsSaidInWords) {
  auto other = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  CertificatePair mismatched{pem(fresh.cert.get()), key_pem(other.key.get())};
  EXPECT_NE(refusal(mismatched)
                .find("the uploaded private key does not match the certificate in "
                      "the uploaded certificate"),
            std::string::npos)
      << refusal(mismatched);

  auto now = std::chrono::system_clock::now();
  auto expired = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false,
                                 test::Validity{now - hours(48), now - hours(24)});
  EXPECT_NE(refusal(material(expired)).find(") expired on "), std::string::npos)
      << refusal(material(expired));
  auto future = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false,
                                test::Validity{now + hours(24), now + hours(48)});
  EXPECT_NE(refusal(material(future)).find("is not valid before"), std::string::npos);

  auto wrong_name = test::make_leaf(ca_, {"db.example"});
  auto words = refusal(material(wrong_name));
  EXPECT_NE(words.find("does not cover \"127.0.0.1\", a listen host of a connector that serves "
                       "ssl.policy.pg; add it to the certificate's subjectAltName"),
            std::string::npos)
      << words;
  EXPECT_NE(words.find("does not cover \"localhost\""), std::string::npos) << words;

  auto stranger_ca = test::make_test_ca("Stranger CA");
  auto stranger = test::make_leaf(stranger_ca, {"localhost", "127.0.0.1"});
  EXPECT_NE(refusal(material(stranger))
                .find("the chain does not verify against "
                      "ssl.policy.pg.trusted_dir"),
            std::string::npos)
      << refusal(material(stranger));

  EXPECT_NE(refusal({"junk", key_pem(fresh.key.get())}).find("the uploaded certificate"),
            std::string::npos);
}

// A link into a renewal tool's folder is not written over (the admin
// API's upload, cluster replacements, ACME renewals).
TEST(PairInstall, SymbolicLinksAreRefusedNamingTheTarget) {
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
  // install_pair() refuses alike and writes nothing.
  auto installed = install_pair(CertificatePair{"new certificate", "new key"}, policy);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().message(), refused.error().message());
  EXPECT_EQ(test::read_text(base / "live" / "cert.pem"), "x");
  EXPECT_EQ(test::read_text(policy.private_key), "x");
  EXPECT_FALSE(fs::exists(policy.private_key.string() + ".bak"));
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
}  // namespace tlsgate::tls
