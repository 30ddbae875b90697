// classify_names of pki/issuer.h (src/pki/subject_names.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "pki/subject_names.h"

namespace tlsgate::pki {
namespace {

using ::testing::ElementsAre;

TEST(PkiClassifyNames, SortsEachNameIntoItsKind) {
  auto names =
      classify_names({"db1.example.com", "localhost", "*.example.com", "127.0.0.1", "fe80::1",
                      "::1", "2001:db8::1:0:0:1", "ops@example.com", "spiffe://cluster/ns/db",
                      "https://db.example.com/x", "node_1.internal", " padded.example.com "})
          .value();
  EXPECT_THAT(names.dns, ElementsAre("db1.example.com", "localhost", "*.example.com",
                                     "node_1.internal", "padded.example.com"));
  EXPECT_THAT(names.ip, ElementsAre("127.0.0.1", "fe80::1", "::1", "2001:db8::1:0:0:1"));
  EXPECT_THAT(names.email, ElementsAre("ops@example.com"));
  EXPECT_THAT(names.uri, ElementsAre("spiffe://cluster/ns/db", "https://db.example.com/x"));
}

TEST(PkiClassifyNames, RejectsMalformedNamesWithTheFix) {
  const std::string kHint =
      " is not a valid DNS name, IP address, email address or URI; use e.g. db1.example.com, "
      "*.example.com, 10.0.0.1, ::1, admin@example.com or spiffe://cluster/node1";
  for (std::string bad : {"bad name", "", "db..example.com", "-db.example.com", "db.*.example.com",
                          "1.2.3", "256.1.1.1", "1.2.3.4.5", ":::1", "*"}) {
    auto r = classify_names({bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(), "\"" + bad + "\"" + kHint);
  }
  auto email = classify_names({"a@b@example.com"});
  ASSERT_FALSE(email);
  EXPECT_EQ(email.error().message(),
            "\"a@b@example.com\" is not a valid email address; write it as user@example.com");
  auto uri = classify_names({"://x"});
  ASSERT_FALSE(uri);
  EXPECT_EQ(uri.error().message(),
            "\"://x\" is not a valid URI; write it as scheme://rest, e.g. spiffe://cluster/node1");
}

}  // namespace
}  // namespace tlsgate::pki
