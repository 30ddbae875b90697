#include "tls/context_registry.h"

#include <gtest/gtest.h>

#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : ca_(test::make_test_ca("Reload CA")) {
    auto leaf = test::make_leaf(ca_, {"localhost"});
    first_serial_ = pki::describe(leaf.cert.get(), util::SystemClock::instance()).serial_hex;
    policies_["bolt"] = testing::make_policy(dir_.path(), "bolt", ca_, leaf);
  }

  std::string served_serial(const ContextRegistry::Entry& e) {
    return e->get()->certificate->serial_hex;
  }

  test::TempDir dir_;
  test::TestCa ca_;
  std::map<std::string, config::Policy> policies_;
  std::string first_serial_;
  ContextRegistry registry_{{}, util::SystemClock::instance()};
};

TEST_F(RegistryTest, ReloadPublishesTheNewCertificate) {
  auto entry = registry_.acquire(policies_["bolt"], Side::kServer).value();
  auto held = entry->get();
  auto next = test::make_leaf(ca_, {"localhost"});
  test::write_cert(policies_["bolt"].public_certificate, next.cert.get());
  test::write_key(policies_["bolt"].private_key, next.key.get());
  auto reports = registry_.reload(policies_);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok) << reports[0].error;
  EXPECT_EQ(reports[0].old_serial, first_serial_);
  EXPECT_NE(served_serial(entry), first_serial_);
  EXPECT_EQ(held->certificate->serial_hex, first_serial_);  // an established connection's snapshot
  EXPECT_EQ(registry_.states().begin()->second.reloads_ok, 1u);
}

TEST_F(RegistryTest, BrokenKeyKeepsTheOldContextAndIsCounted) {
  auto entry = registry_.acquire(policies_["bolt"], Side::kServer).value();
  test::write_text(policies_["bolt"].private_key,
                   "-----BEGIN "
                   "PRIVATE KEY-----\ntruncated",
                   0600);
  auto reports = registry_.reload(policies_);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_EQ(reports[0].error.rfind(
                "ssl.policy.bolt.private_key: " + policies_["bolt"].private_key.string(), 0),
            0u)
      << reports[0].error;
  EXPECT_EQ(served_serial(entry), first_serial_);
  auto state = registry_.states().begin()->second;
  EXPECT_EQ(state.reloads_failed, 1u);
  EXPECT_EQ(state.last_error, reports[0].error);

  // A key that does not match the certificate is refused the same way.
  auto other = test::make_leaf(ca_, {"localhost"});
  test::write_key(policies_["bolt"].private_key, other.key.get());
  reports = registry_.reload(policies_);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_NE(reports[0].error.find("does not match the certificate"), std::string::npos)
      << reports[0].error;
  EXPECT_EQ(served_serial(entry), first_serial_);
}

TEST_F(RegistryTest, ObserversHearEveryPublishedContextUntilUnsubscribed) {
  registry_.acquire(policies_["bolt"], Side::kServer).value();
  std::vector<std::string> heard;
  auto subscription = registry_.subscribe([&](const ReloadReport& r) {
    // Called outside the registry's lock: reading it from here must not deadlock.
    heard.push_back(r.scope + " " + r.new_serial + " " + registry_.states().begin()->second.serial);
  });
  auto next = test::make_leaf(ca_, {"localhost"});
  test::write_cert(policies_["bolt"].public_certificate, next.cert.get());
  test::write_key(policies_["bolt"].private_key, next.key.get());
  auto reports = registry_.reload(policies_);
  ASSERT_TRUE(reports[0].ok) << reports[0].error;
  const auto& serial = reports[0].new_serial;
  EXPECT_EQ(heard, std::vector<std::string>{"bolt " + serial + " " + serial});

  // A failed reload publishes nothing, so observers hear nothing.
  test::write_text(policies_["bolt"].private_key, "not a key", 0600);
  EXPECT_FALSE(registry_.reload(policies_)[0].ok);
  EXPECT_EQ(heard.size(), 1u);

  test::write_key(policies_["bolt"].private_key, next.key.get());
  subscription.reset();
  EXPECT_TRUE(registry_.reload(policies_)[0].ok);
  EXPECT_EQ(heard.size(), 1u);
}

TEST_F(RegistryTest, ASubscriptionMayOutliveItsRegistry) {
  auto registry = std::make_unique<ContextRegistry>(BuildOptions{}, util::SystemClock::instance());
  int calls = 0;
  auto subscription = registry->subscribe([&](const ReloadReport&) { ++calls; });
  auto moved = std::move(subscription);  // the moved-from one unregisters nothing
  registry->acquire(policies_["bolt"], Side::kClient).value();
  test::write_cert(policies_["bolt"].trusted_dir / "other-ca.crt",
                   test::make_test_ca("Other CA").ca.cert.get());  // a change to hear of
  registry->reload(policies_);
  EXPECT_EQ(calls, 1);
  registry.reset();
  moved.reset();  // under ASan: no use after free
}

// A stale CRL is something to log at start and at every reload until a
// fresh one replaces it.
// `changed` says whether what is served changed (review s22 §12): the same
// files and settings again (an idle reload, the watcher's event after an
// upload) are no new reload; observers hear nothing and nothing is counted.
TEST_F(RegistryTest, ChangedOnlyWhenWhatIsServedChanged) {
  auto entry = registry_.acquire(policies_["bolt"], Side::kServer).value();
  int heard = 0;
  auto subscription = registry_.subscribe([&](const ReloadReport&) { ++heard; });
  auto reload = [&] {
    auto reports = registry_.reload(policies_);
    EXPECT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports.at(0).ok) << reports.at(0).error;
    return reports.at(0);
  };
  auto r = reload();
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.old_serial, first_serial_);
  EXPECT_EQ(r.new_serial, first_serial_);
  EXPECT_EQ(heard, 0);
  EXPECT_EQ(registry_.states().begin()->second.reloads_ok, 0u);
  EXPECT_EQ(served_serial(entry), first_serial_);  // still served (published again)

  // The same bytes written again.
  const auto cert = policies_["bolt"].public_certificate;
  test::write_text(cert, test::read_text(cert));
  EXPECT_FALSE(reload().changed);

  // The trust store's contents.
  test::write_cert(policies_["bolt"].trusted_dir / "other-ca.crt",
                   test::make_test_ca("Other CA").ca.cert.get());
  EXPECT_TRUE(reload().changed);
  EXPECT_EQ(heard, 1);
  EXPECT_EQ(registry_.states().begin()->second.reloads_ok, 1u);
  EXPECT_FALSE(reload().changed);

  // A CRL.
  auto now = std::chrono::system_clock::now();
  test::write_crl(policies_["bolt"].revoked_dir / "ca.crl", ca_, {}, now - std::chrono::hours(1),
                  now + std::chrono::hours(24));
  EXPECT_TRUE(reload().changed);

  // A setting, with the same files.
  policies_["bolt"].tls_versions = {"TLSv1.3"};
  EXPECT_TRUE(reload().changed);
  EXPECT_FALSE(reload().changed);

  // A new certificate and key.
  auto next = test::make_leaf(ca_, {"localhost"});
  test::write_cert(policies_["bolt"].public_certificate, next.cert.get());
  test::write_key(policies_["bolt"].private_key, next.key.get());
  r = reload();
  EXPECT_TRUE(r.changed);
  EXPECT_NE(r.new_serial, first_serial_);
  EXPECT_EQ(heard, 4);
  EXPECT_EQ(registry_.states().begin()->second.reloads_ok, 4u);
}

TEST_F(RegistryTest, StaleCrlIsAWarningOfTheStateAndOfTheReload) {
  using namespace std::chrono_literals;
  auto now = std::chrono::system_clock::now();
  const auto& revoked = policies_["bolt"].revoked_dir;
  test::write_crl(revoked / "ca.crl", ca_, {}, now - 48h, now - 24h);
  registry_.acquire(policies_["bolt"], Side::kServer).value();
  auto warnings = registry_.states().begin()->second.warnings;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("ssl.policy.bolt.revoked_dir: CRL " + (revoked / "ca.crl").string() +
                                  " from CN=Reload CA,O=tlsgate is stale",
                              0),
            0u)
      << warnings[0];
  auto reports = registry_.reload(policies_);
  ASSERT_TRUE(reports[0].ok) << reports[0].error;
  EXPECT_EQ(reports[0].warnings, warnings);

  test::write_crl(revoked / "ca.crl", ca_, {}, now - 1h, now + 24h);
  reports = registry_.reload(policies_);
  ASSERT_TRUE(reports[0].ok) << reports[0].error;
  EXPECT_TRUE(reports[0].warnings.empty());
  EXPECT_TRUE(registry_.states().begin()->second.warnings.empty());
}

}  // namespace
}  // namespace tlsgate::tls
