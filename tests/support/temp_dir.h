// TempDir: a fresh folder under $TMPDIR, removed with everything in it on
// destruction; and whole files written and read.
#pragma once

#include <filesystem>
#include <string>

namespace tlsgate::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes content to path (creating parent folders) with the given mode.
void write_text(const std::filesystem::path& path, const std::string& content,
                unsigned mode = 0644);

// The whole content of path; throws std::runtime_error when it cannot be read.
std::string read_text(const std::filesystem::path& path);

}  // namespace tlsgate::test
