// The git revision the binary was built from, for `tlsgate version`.
//
// Defined in a file the build generates (cmake/git_revision.cmake) and
// compiled into cli alone, so a new commit rebuilds that file only.
#pragma once

namespace tlsgate::cli {

// "8124a53", "8124a53+dirty" when tracked files had changes, or "unknown"
// for a build outside a git tree.
const char* git_revision();

}  // namespace tlsgate::cli
