// Atomic file writes (STYLE.md practice 6).
//
// write_file_atomic() writes to a temporary file in the target's folder with
// the final mode already set, fsyncs it, renames it over the target and
// fsyncs the folder: a reader sees the old content or the new, never a part,
// and a secret is never readable by others, not even for a moment.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <string_view>

#include "util/result.h"

namespace tlsgate::util {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode);

// The most read_file() reads: no configuration, certificate, key, CRL or
// password file comes near it, and a path that names /dev/zero or a
// never-ending pipe fails here instead of filling the memory.
inline constexpr size_t kMaxFileRead = size_t{64} << 20;

// Reads a whole file, at most `max` bytes (more is an error); the error names
// the path and the reason. Pipes (a --password-file <(pass show x)) are
// read to their end.
Result<std::string> read_file(const std::filesystem::path& path, size_t max = kMaxFileRead);

}  // namespace tlsgate::util
