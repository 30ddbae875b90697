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

// TLS clients never match a wildcard over one label, so such a certificate would promise
// names it can never serve.
TEST(PkiClassifyNames, RefusesAWildcardOverASingleLabel) {
  for (std::string bad : {"*.com", "*.localhost", "*.internal"}) {
    auto r = classify_names({"db1.example.com", bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(),
              "\"" + bad +
                  "\": a wildcard needs two labels or more after \"*.\", as in *.example.com (TLS "
                  "clients match *.com, *.localhost and the like to nothing); list the names "
                  "themselves instead");
  }
  auto two = classify_names({"*.example.com", "*.co.uk", "*.db.localhost"}).value();
  EXPECT_THAT(two.dns, ElementsAre("*.example.com", "*.co.uk", "*.db.localhost"));
}

TEST(PkiClassifyNames, AnEmailIsAnAddressNotAUri) {
  auto mailto = classify_names({"mailto:a@b.example"});
  ASSERT_FALSE(mailto);
  EXPECT_EQ(mailto.error().message(),
            "\"mailto:a@b.example\" is a mailto: URI; for an email name give the address alone: "
            "a@b.example");
  for (std::string bad : {"mailto:a@b", "MAILTO:x@y.z", "user:pw@host.example", "a b@example.com",
                          ".a@example.com", "a.@example.com", "a..b@example.com",
                          "\xc3\xa9@example.com", "@example.com", "a@*.example.com"}) {
    auto r = classify_names({bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r.error().message(), ::testing::HasSubstr("\"" + bad + "\" is ")) << bad;
  }
  auto good = classify_names({"first.last@example.com", "o'brien+tag@example.com",
                              "a!#$%&*/=?^_`{|}~-b@example.com"})
                  .value();
  EXPECT_THAT(good.email, ElementsAre("first.last@example.com", "o'brien+tag@example.com",
                                      "a!#$%&*/=?^_`{|}~-b@example.com"));
}

}  // namespace
}  // namespace tlsgate::pki
