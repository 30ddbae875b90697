// GET /v1/acme's document (docs/ADMIN.md "ACME").
#include <gtest/gtest.h>

#include "admin/json_views.h"

namespace tlsgate::admin {
namespace {

TEST(AcmeView, OnePolicyPerObjectWithItsDatesAndItsLastError) {
  const util::SystemTime now{std::chrono::seconds(1800000000)};
  acme::PolicyStatus served;
  served.scope = "pg";
  served.directory = "https://ca.example/dir";
  served.names = {"db.example.com", "10.0.0.5"};
  served.has_certificate = true;
  served.not_after = now + std::chrono::hours(24 * 30);
  served.next_attempt = now + std::chrono::hours(24 * 10);
  served.issued = 1;
  acme::PolicyStatus pending;
  pending.scope = "bolt";
  pending.failures = 2;
  pending.last_error = "ACME server https://ca.example/dir: directory: connect: refused";
  auto j = acme_json({served, pending}, now);
  ASSERT_EQ(j["policies"].size(), 2u);
  const auto& a = j["policies"][0];
  EXPECT_EQ(a["policy"], "pg");
  EXPECT_EQ(a["names"][1], "10.0.0.5");
  EXPECT_EQ(a["days_left"], 30);
  EXPECT_EQ(a["next_attempt"], rfc3339(served.next_attempt));
  EXPECT_TRUE(a["last_error"].is_null());
  const auto& b = j["policies"][1];
  EXPECT_FALSE(b["has_certificate"].get<bool>());
  EXPECT_FALSE(b.contains("not_after"));
  EXPECT_EQ(b["failures"], 2);
  EXPECT_EQ(b["last_error"], pending.last_error);
}

}  // namespace
}  // namespace tlsgate::admin
