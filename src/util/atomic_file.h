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

// Reads a whole file; the error names the path and the reason.
Result<std::string> read_file(const std::filesystem::path& path);

}  // namespace tlsgate::util
