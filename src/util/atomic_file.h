// Atomic file writes (STYLE.md practice 6).
//
// write_file_atomic() writes to a temporary file in the target's folder with
// the final mode already set, fsyncs it, renames it over the target and
// fsyncs the folder: a reader sees the old content or the new, never a part,
// and a secret is never readable by others, not even for a moment.
//
// write_files_atomic() does the same for a set of files that belong together
// (a key and its certificate): all of them or none.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tlsgate::util {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode);

struct FileWrite {
  std::filesystem::path path;
  std::string_view content;  // borrowed; must outlive the call
  mode_t mode = 0644;
};
// Writes every file to a temporary beside it first (mode set, fsynced); only
// when all are written does it rename them into place, in order. Each target
// that already exists is kept as a hard link (where no link can be made, its
// bytes and mode are kept in memory) until every rename has succeeded, so when
// one rename fails the files already replaced get their old content back and
// files that did not exist are removed again: a failure leaves the old set (or
// nothing, for new files) as it was, and the error names the file that
// failed. A crash between two renames can leave a mixed set and a hidden
// `.NAME.tmpXXXXXX.old` link beside it.
Status write_files_atomic(const std::vector<FileWrite>& files);

// The most read_file() reads: no configuration, certificate, key, CRL or
// password file comes near it, and a path that names /dev/zero or a
// never-ending pipe fails here instead of filling the memory.
inline constexpr size_t kMaxFileRead = size_t{64} << 20;

// Reads a whole file, at most `max` bytes (more is an error); the error names
// the path and the reason. Pipes (a --password-file <(pass show x)) are
// read to their end; a FIFO waits for its writer, as any reader does.
Result<std::string> read_file(const std::filesystem::path& path, size_t max = kMaxFileRead);

}  // namespace tlsgate::util
