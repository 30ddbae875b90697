#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/fd.h"
#include "util/strings.h"

namespace tlsgate::util {
namespace {

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + path.string() + ": " + errno_text(errno));
    content.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmpXXXXXX")).string();
  int raw = ::mkstemp(tmpl.data());
  if (raw < 0) {
    return fail("cannot create a temporary file in " + dir.string() + ": " + errno_text(errno) +
                "; check that the folder exists and is writable");
  }
  Fd fd(raw);
  auto cleanup = [&] { ::unlink(tmpl.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) {
    cleanup();
    return fail("cannot set mode on " + tmpl + ": " + errno_text(errno));
  }
  if (auto st = write_all(fd.get(), content, path); !st) {
    cleanup();
    return st;
  }
  if (::fsync(fd.get()) != 0) {
    cleanup();
    return fail("cannot fsync " + path.string() + ": " + errno_text(errno));
  }
  fd.reset();
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    cleanup();
    return fail("cannot rename into " + path.string() + ": " + errno_text(err));
  }
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirfd.valid()) ::fsync(dirfd.get());
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return fail(path.string() + ": no such file");
    return fail(path.string() + ": cannot read (" + errno_text(errno) + "); check its permissions");
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail(path.string() + ": read error");
  return out.str();
}

}  // namespace tlsgate::util
