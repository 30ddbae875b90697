#include "tls/file_watcher.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The scopes a watcher reported, in order; waits are bounded.
class Reports {
 public:
  FileWatcher::OnChange callback() {
    return [this](const std::string& scope) {
      std::lock_guard lock(mu_);
      scopes_.push_back(scope);
      cv_.notify_all();
    };
  }
  // Waits up to `deadline` until at least n reports arrived.
  bool wait_for(size_t n, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return scopes_.size() >= n; });
  }
  std::vector<std::string> scopes() {
    std::lock_guard lock(mu_);
    return scopes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> scopes_;
};

class FileWatcherTest : public ::testing::Test {
 protected:
  FileWatcherTest() : ca_(test::make_test_ca("Watcher CA")) {
    bolt_ = testing::make_policy(dir_.path(), "bolt", ca_, test::make_leaf(ca_, {"localhost"}));
    pg_ = testing::make_policy(dir_.path(), "pg", ca_, test::make_leaf(ca_, {"localhost"}));
  }

  std::unique_ptr<FileWatcher> watch(const std::vector<config::Policy>& policies,
                                     const std::map<std::string, fs::path>& files = {}) {
    auto watcher = FileWatcher::create(policies, 50ms, reports_.callback(), files);
    EXPECT_TRUE(watcher) << watcher.error().message();
    return watcher ? std::move(*watcher) : nullptr;
  }

  test::TempDir dir_;
  test::TestCa ca_;
  config::Policy bolt_;
  config::Policy pg_;
  Reports reports_;
};

TEST_F(FileWatcherTest, RenameIntoPlaceIsReportedOnce) {
  auto watcher = watch({bolt_});
  ASSERT_TRUE(watcher);
  auto next = test::make_leaf(ca_, {"localhost"});
  auto tmp = bolt_.base_directory / ".public.crt.new";
  test::write_cert(tmp, next.cert.get());
  test::write_key(bolt_.private_key, next.key.get());
  fs::rename(tmp, bolt_.public_certificate);
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  // Key and certificate changed one after the other: one report, not two.
  EXPECT_FALSE(reports_.wait_for(2, 300ms));
  EXPECT_EQ(reports_.scopes(), std::vector<std::string>{"bolt"});
}

TEST_F(FileWatcherTest, OnlyTheScopeWhoseFilesChangedIsReported) {
  auto watcher = watch({bolt_, pg_});
  ASSERT_TRUE(watcher);
  test::write_cert(pg_.public_certificate, test::make_leaf(ca_, {"localhost"}).cert.get());
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  EXPECT_FALSE(reports_.wait_for(2, 300ms));
  EXPECT_EQ(reports_.scopes(), std::vector<std::string>{"pg"});
}

TEST_F(FileWatcherTest, NewTrustedAndRevokedFilesAreChanges) {
  auto watcher = watch({bolt_});
  ASSERT_TRUE(watcher);
  test::write_cert(bolt_.trusted_dir / "other-ca.crt",
                   test::make_test_ca("Other CA").ca.cert.get());
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  test::write_text(bolt_.revoked_dir / "ca.crl.pem", "not read by the watcher\n");
  ASSERT_TRUE(reports_.wait_for(2, 5s));
  EXPECT_EQ(reports_.scopes(), (std::vector<std::string>{"bolt", "bolt"}));
}

// Kubernetes mounts a secret as files that are symlinks through `..data`,
// itself a symlink swapped by rename to a new timestamped folder.
TEST_F(FileWatcherTest, SymlinkSwapOfTheDataFolderIsAChange) {
  fs::path mount = dir_.path() / "mount";
  fs::create_directories(mount / "..2024_01");
  fs::create_directories(mount / "..2024_02");
  auto first = test::make_leaf(ca_, {"localhost"});
  auto second = test::make_leaf(ca_, {"localhost"});
  test::write_cert(mount / "..2024_01" / "public.crt", first.cert.get());
  test::write_cert(mount / "..2024_02" / "public.crt", second.cert.get());
  fs::create_directory_symlink("..2024_01", mount / "..data");
  fs::create_symlink("..data/public.crt", mount / "public.crt");
  config::Policy secret = bolt_;
  secret.scope = "secret";
  secret.base_directory = mount;
  secret.public_certificate = mount / "public.crt";
  auto watcher = watch({secret});
  ASSERT_TRUE(watcher);
  fs::create_directory_symlink("..2024_02", mount / "..data_tmp");
  fs::rename(mount / "..data_tmp", mount / "..data");
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  EXPECT_EQ(reports_.scopes().front(), "secret");
}

TEST_F(FileWatcherTest, SingleFilesAreReportedUnderTheirName) {
  fs::path map = dir_.path() / "maps" / "users.map";
  test::write_text(map, "app1 app1\n");
  auto watcher = watch({}, {{"connector.pg.user_map", map}});
  ASSERT_TRUE(watcher);
  test::write_text(map, "app1 app1\napp2 app2\n");
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  EXPECT_EQ(reports_.scopes(), std::vector<std::string>{"connector.pg.user_map"});
}

// A log or a README beside the policy's files or beside a user_map must not
// reload them: the gate's own log in that folder made an endless loop
// (review s22 §5).
TEST_F(FileWatcherTest, OtherFilesInThePolicyAndMapFoldersAreNoChange) {
  fs::path map = dir_.path() / "maps" / "users.map";
  test::write_text(map, "app1 app1\n");
  auto watcher = watch({bolt_}, {{"connector.pg.user_map", map}});
  ASSERT_TRUE(watcher);
  for (int i = 0; i < 5; ++i) {
    test::write_text(bolt_.public_certificate.parent_path() / "README", std::to_string(i) + "\n");
    test::write_text(map.parent_path() / "gate.log", std::to_string(i) + "\n");
  }
  EXPECT_FALSE(reports_.wait_for(1, 300ms)) << reports_.scopes().front();
  test::write_text(map, "app1 app1\napp2 app2\n");
  ASSERT_TRUE(reports_.wait_for(1, 5s));
  test::write_cert(bolt_.trusted_dir / "other-ca.crt",
                   test::make_test_ca("Other CA").ca.cert.get());
  ASSERT_TRUE(reports_.wait_for(2, 5s));
  EXPECT_EQ(reports_.scopes(), (std::vector<std::string>{"connector.pg.user_map", "bolt"}));
}

TEST_F(FileWatcherTest, NothingIsReportedAfterStop) {
  auto watcher = watch({bolt_});
  ASSERT_TRUE(watcher);
  watcher->stop();
  watcher->stop();  // a second stop is harmless
  test::write_cert(bolt_.public_certificate, test::make_leaf(ca_, {"localhost"}).cert.get());
  EXPECT_FALSE(reports_.wait_for(1, 300ms));
}

}  // namespace
}  // namespace tlsgate::tls
