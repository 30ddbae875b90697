#include "pki/secret_box.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tlsgate::pki {
namespace {

SecretBox box(char fill) { return *SecretBox::from_bytes(util::Secret(std::string(32, fill))); }

TEST(SecretBox, SealsAndOpensBoundToItsRecord) {
  auto b = box('a');
  auto sealed = b.seal("the key", "replacement r1 scope cluster");
  ASSERT_TRUE(sealed) << sealed.error().message();
  EXPECT_EQ(sealed->key_id, b.key_id());
  EXPECT_EQ(sealed->ciphertext.find("the key"), std::string::npos);
  auto opened = b.open(*sealed, "replacement r1 scope cluster");
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->reveal(), "the key");

  auto other_record = b.open(*sealed, "replacement r2 scope cluster");
  ASSERT_FALSE(other_record);
  EXPECT_NE(other_record.error().message().find("belongs to another record"), std::string::npos);

  auto tampered = *sealed;
  tampered.ciphertext[0] ^= 1;
  EXPECT_FALSE(b.open(tampered, "replacement r1 scope cluster"));
  // Two seals of the same text differ (fresh nonce).
  EXPECT_NE(b.seal("the key", "x")->ciphertext, b.seal("the key", "x")->ciphertext);
}

TEST(SecretBox, AnotherSecretIsNamedByKeyId) {
  auto sealed = box('a').seal("k", "ad");
  auto r = box('b').open(*sealed, "ad");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("key id " + box('a').key_id()), std::string::npos);
  EXPECT_NE(r.error().message().find("give every node the same secret file"), std::string::npos);
}

TEST(SecretBox, TheFileMustBe32PrivateBytes) {
  test::TempDir dir;
  auto file = dir.path() / "cluster.secret";
  test::write_text(file, std::string(32, 'z'));
  ::chmod(file.c_str(), 0644);
  auto loose = SecretBox::load(file);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message().find("chmod 600"), std::string::npos)
      << loose.error().message();
  ::chmod(file.c_str(), 0600);
  EXPECT_TRUE(SecretBox::load(file));
  test::write_text(file, "short");
  ::chmod(file.c_str(), 0600);
  auto short_one = SecretBox::load(file);
  ASSERT_FALSE(short_one);
  EXPECT_NE(short_one.error().message().find("5 bytes, not 32"), std::string::npos);
  EXPECT_FALSE(SecretBox::load(dir.path() / "missing"));
}

}  // namespace
}  // namespace tlsgate::pki
