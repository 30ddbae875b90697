#include "tls/crl_file.h"

#include <chrono>

#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;

// CRLs of two CAs written with chosen dates, read back against a pinned "now".
class CrlFileTest : public ::testing::Test {
 protected:
  CrlFileTest()
      : now_(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())),
        ca_(test::make_test_ca("CRL CA")),
        other_(test::make_test_ca("Other CA")) {
    policy_.scope = "db";
    policy_.revoked_dir = dir_.path();
  }

  std::vector<CrlFile> load() {
    auto crls = load_crl_files(dir_.path(), now_);
    EXPECT_TRUE(crls) << crls.error().message();
    return crls ? std::move(*crls) : std::vector<CrlFile>{};
  }

  util::SystemTime now_;
  test::TempDir dir_;
  test::TestCa ca_;
  test::TestCa other_;
  config::Policy policy_;
};

TEST_F(CrlFileTest, EachCrlKeepsItsFileIssuerAndDates) {
  test::write_crl(dir_ / "a-stale.crl", ca_, {}, now_ - 48h, now_ - 24h);
  test::write_crl(dir_ / "b-fresh.crl", other_, {}, now_ - 1h, now_ + 24h);
  test::write_crl(dir_ / "c-ahead.crl", ca_, {}, now_ + 1h, now_ + 48h);
  auto crls = load();
  ASSERT_EQ(crls.size(), 3u);
  EXPECT_EQ(crls[0].file, dir_ / "a-stale.crl");
  EXPECT_EQ(crls[0].issuer, "CN=CRL CA,O=tlsgate");
  EXPECT_EQ(crls[0].last_update, now_ - 48h);
  ASSERT_TRUE(crls[0].next_update.has_value());
  EXPECT_EQ(*crls[0].next_update, now_ - 24h);
  EXPECT_TRUE(crls[0].stale);
  EXPECT_FALSE(crls[0].not_yet_valid);
  EXPECT_EQ(crls[1].issuer, "CN=Other CA,O=tlsgate");
  EXPECT_FALSE(crls[1].stale);
  EXPECT_FALSE(crls[1].not_yet_valid);
  EXPECT_TRUE(crls[1].stale_at(now_ + 25h));  // freshness is a question of the time asked
  EXPECT_TRUE(crls[2].not_yet_valid);
  EXPECT_FALSE(crls[2].stale);
  EXPECT_NE(crls[2].crl, nullptr);
}

TEST_F(CrlFileTest, ABrokenFileIsNamed) {
  test::write_text(dir_ / "broken.crl", "-----BEGIN X509 CRL-----\nAAAA\n");
  auto crls = load_crl_files(dir_.path(), now_);
  ASSERT_FALSE(crls);
  EXPECT_EQ(crls.error().message().rfind((dir_ / "broken.crl").string() + ": ", 0), 0u)
      << crls.error().message();
}

TEST_F(CrlFileTest, CrlForIssuerIsTheNewestOfThatIssuer) {
  test::write_crl(dir_ / "1-old.crl", ca_, {}, now_ - 48h, now_ - 24h);
  test::write_crl(dir_ / "2-new.crl", ca_, {}, now_ - 1h, now_ + 24h);
  test::write_crl(dir_ / "3-other.crl", other_, {}, now_ - 2h, now_ + 24h);
  auto crls = load();
  ASSERT_EQ(crls.size(), 3u);
  const CrlFile* ours = crl_for_issuer(crls, X509_get_subject_name(ca_.ca.cert.get()));
  ASSERT_NE(ours, nullptr);
  EXPECT_EQ(ours->file, dir_ / "2-new.crl");
  EXPECT_FALSE(ours->stale_at(now_));
  const CrlFile* theirs = crl_for_issuer(crls, X509_get_subject_name(other_.ca.cert.get()));
  ASSERT_NE(theirs, nullptr);
  EXPECT_EQ(theirs->file, dir_ / "3-other.crl");
  auto stranger = test::make_test_ca("Stranger CA");
  EXPECT_EQ(crl_for_issuer(crls, X509_get_subject_name(stranger.ca.cert.get())), nullptr);
  EXPECT_EQ(crl_for_issuer(crls, nullptr), nullptr);
  EXPECT_EQ(find_crl(crls, crls[2].crl.get()), &crls[2]);
}

TEST_F(CrlFileTest, WarningsNameFileDateConsequenceAndFix) {
  test::write_crl(dir_ / "fresh.crl", other_, {}, now_ - 1h, now_ + 24h);
  test::write_crl(dir_ / "stale.crl", ca_, {}, now_ - 48h, now_ - 24h);
  auto crls = load();
  const std::string head = "ssl.policy.db.revoked_dir: CRL " + (dir_ / "stale.crl").string() +
                           " from CN=CRL CA,O=tlsgate is stale: its nextUpdate " +
                           pki::format_time(now_ - 24h) + " has passed; ";
  const std::string fix = "; put a fresh CRL from CN=CRL CA,O=tlsgate into " +
                          dir_.path().string() + "; tlsgate reloads it";
  EXPECT_EQ(crl_warnings(policy_, crls, now_),
            std::vector<std::string>{head +
                                     "ssl.policy.db.stale_crl=WARN: it is still used (the "
                                     "certificates it lists stay refused) and peers with "
                                     "certificates from CN=CRL CA,O=tlsgate are let in" +
                                     fix});
  policy_.stale_crl = config::StaleCrl::kReject;
  EXPECT_EQ(crl_warnings(policy_, crls, now_),
            std::vector<std::string>{head +
                                     "ssl.policy.db.stale_crl=REJECT: peers with certificates "
                                     "from CN=CRL CA,O=tlsgate are refused until then" +
                                     fix});
  // Asked a day later, the fresh one is stale too; asked 30 hours ago, the
  // stale one was fresh and the fresh one not issued yet.
  EXPECT_EQ(crl_warnings(policy_, crls, now_ + 25h).size(), 2u);
  auto before = crl_warnings(policy_, crls, now_ - 30h);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_NE(before[0].find("fresh.crl from CN=Other CA,O=tlsgate is not valid yet"),
            std::string::npos)
      << before[0];
}

TEST_F(CrlFileTest, ACrlFromTheFutureIsAClockProblem) {
  test::write_crl(dir_ / "ahead.crl", ca_, {}, now_ + 2h, now_ + 48h);
  EXPECT_EQ(crl_warnings(policy_, load(), now_),
            std::vector<std::string>{
                "ssl.policy.db.revoked_dir: CRL " + (dir_ / "ahead.crl").string() +
                " from CN=CRL CA,O=tlsgate is not valid yet: its lastUpdate " +
                pki::format_time(now_ + 2h) +
                " is ahead of this machine's clock; peers with certificates from CN=CRL "
                "CA,O=tlsgate are refused until then; check the clock of this machine and of "
                "the CA (NTP), or put a CRL with a current lastUpdate into " +
                dir_.path().string()});
}

}  // namespace
}  // namespace tlsgate::tls
