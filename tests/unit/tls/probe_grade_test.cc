// Grading an enumeration against Mozilla intermediate (tls/probe_grade.h).
#include "tls/probe_grade.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlsgate::tls {
namespace {

using ::testing::HasSubstr;

std::string all(const std::vector<Finding>& f) {
  std::string out;
  for (const auto& x : f) out += x.severity + ": " + x.what + "; " + x.fix + "\n";
  return out;
}

GradeInput modern() {
  GradeInput in;
  in.versions = {"TLSv1.2", "TLSv1.3"};
  in.tls12_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  in.groups = {"X25519", "P-256", "P-384"};
  in.groups_known = true;
  in.leaf_known = true;
  in.leaf_key_type = "EC";
  in.leaf_key_curve = "P-256";
  in.leaf_key_bits = 256;
  in.leaf_days_left = 200;
  in.signature_algorithms = {"ecdsa-with-SHA256"};
  return in;
}

TEST(ProbeGrade, IntermediateServerHasNoFindings) {
  EXPECT_EQ(all(grade_intermediate(modern())), "");
}

TEST(ProbeGrade, EachProblemIsOneLineWithItsFix) {
  GradeInput in = modern();
  in.versions = {"TLSv1", "TLSv1.1", "TLSv1.2"};
  in.tls12_suites.push_back("TLS_RSA_WITH_AES_128_CBC_SHA");
  in.tls12_suites.push_back("TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  in.groups.push_back("ffdhe2048");
  in.leaf_key_type = "RSA";
  in.leaf_key_bits = 1024;
  in.leaf_days_left = 12;
  in.signature_algorithms = {"sha1WithRSAEncryption"};
  std::string f = all(grade_intermediate(in));
  EXPECT_THAT(f, HasSubstr("fail: TLSv1 is accepted; allow TLSv1.2 and TLSv1.3 only"));
  EXPECT_THAT(f, HasSubstr("fail: TLSv1.1 is accepted"));
  EXPECT_THAT(f, HasSubstr("warn: TLSv1.3 is not accepted"));
  EXPECT_THAT(f, HasSubstr("fail: broken suites accepted: TLS_RSA_WITH_3DES_EDE_CBC_SHA (3DES)"));
  EXPECT_THAT(f, HasSubstr("fail: CBC (non-AEAD) suites accepted: TLS_RSA_WITH_AES_128_CBC_SHA;"));
  EXPECT_THAT(f, HasSubstr("fail: static RSA key exchange (no forward secrecy) accepted: "
                           "TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
  EXPECT_THAT(f, HasSubstr("warn: groups outside Mozilla intermediate accepted: ffdhe2048"));
  EXPECT_THAT(f, HasSubstr("fail: the certificate's key is short: RSA 1024 bits"));
  EXPECT_THAT(f, HasSubstr("warn: the certificate expires in 12 days; renew it"));
  EXPECT_THAT(f,
              HasSubstr("fail: a certificate of the chain is signed with sha1WithRSAEncryption"));
}

TEST(ProbeGrade, ExpiredCertificateFails) {
  GradeInput in = modern();
  in.leaf_days_left = -3;
  EXPECT_EQ(all(grade_intermediate(in)), "fail: the certificate has expired; renew it\n");
}

}  // namespace
}  // namespace tlsgate::tls
