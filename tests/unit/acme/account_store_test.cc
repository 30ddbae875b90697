#include "acme/account_store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tlsgate::acme {
namespace {

TEST(AccountStoreTest, TheKeyIsMadeOnceWithMode0600AndLoadedAfter) {
  test::TempDir state;
  std::string url = "https://127.0.0.1:14000/dir";
  auto first = load_or_create_account_key(state.path(), url).value();
  auto dir = account_dir(state.path(), url);
  EXPECT_EQ(dir.parent_path(), state.path() / "acme");
  EXPECT_EQ(dir.filename().string().size(), 16u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "account.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = load_or_create_account_key(state.path(), url).value();
  EXPECT_EQ(EVP_PKEY_eq(first.get(), again.get()), 1);
  // Another directory, another account.
  auto other = load_or_create_account_key(state.path(), url + "2").value();
  EXPECT_NE(EVP_PKEY_eq(first.get(), other.get()), 1);
}

TEST(AccountStoreTest, RecordRoundTripsAndABrokenOneSaysWhatToDo) {
  test::TempDir state;
  std::string url = "https://ca.test/dir";
  EXPECT_FALSE(load_account_record(state.path(), url).value().has_value());
  ASSERT_TRUE(save_account_record(state.path(), {url, "https://ca.test/acct/1", "a@b.test"}));
  auto record = load_account_record(state.path(), url).value().value();
  EXPECT_EQ(record.url, "https://ca.test/acct/1");
  EXPECT_EQ(record.email, "a@b.test");
  auto path = account_dir(state.path(), url) / "account.json";
  test::write_text(path, "[1]");
  auto broken = load_account_record(state.path(), url);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message(),
            path.string() +
                ": not an account record; remove it (the account is found again by "
                "its key)");
}

TEST(AccountStoreTest, ABrokenKeyIsNamed) {
  test::TempDir state;
  std::string url = "https://ca.test/dir";
  auto dir = account_dir(state.path(), url);
  std::filesystem::create_directories(dir);
  test::write_text(dir / "account.key", "garbage");
  auto key = load_or_create_account_key(state.path(), url);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message().find("ACME account key of https://ca.test/dir"),
            std::string::npos)
      << key.error().message();
  EXPECT_NE(key.error().message().find((dir / "account.key").string()), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::acme
