// TempDir: a fresh folder under $TMPDIR, removed with everything in it on destruction.
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

}  // namespace tlsgate::test
