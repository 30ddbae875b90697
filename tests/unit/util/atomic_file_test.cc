#include "util/atomic_file.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tlsgate::util {
namespace {

TEST(AtomicFile, WritesContentWithModeAndReplaces) {
  test::TempDir dir;
  auto path = dir.path() / "secret.key";
  ASSERT_TRUE(write_file_atomic(path, "first", 0600));
  ASSERT_TRUE(write_file_atomic(path, "second", 0600));
  EXPECT_EQ(read_file(path).value(), "second");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFile, MissingFolderNamesIt) {
  auto st = write_file_atomic("/nonexistent-tlsgate-dir/x", "x", 0600);
  ASSERT_FALSE(st);
  EXPECT_EQ(
      st.error().message(),
      "cannot create a temporary file in /nonexistent-tlsgate-dir: No such file or directory; "
      "check that the folder exists and is writable");
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
  auto r = read_file("/nonexistent-tlsgate-file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "/nonexistent-tlsgate-file: no such file");
}

TEST(AtomicFile, ReadStopsAtItsBoundAndOnDevices) {
  // /dev/zero never ends: the read stops at the bound, not at the memory's end.
  auto zero = read_file("/dev/zero", 1 << 20);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(),
            "/dev/zero: larger than 1 MiB; no configuration, certificate, key or CRL file is this "
            "large: is it a device or a pipe that never ends?");
  test::TempDir dir;
  auto path = dir.path() / "exact";
  ASSERT_TRUE(write_file_atomic(path, std::string(4096, 'x'), 0600));
  EXPECT_EQ(read_file(path, 4096).value().size(), 4096u);
  EXPECT_FALSE(read_file(path, 4095));
  auto folder = read_file(dir.path());
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().message(), dir.path().string() + ": is a folder, not a file");
}

}  // namespace
}  // namespace tlsgate::util
