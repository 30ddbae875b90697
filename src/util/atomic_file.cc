#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

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

Result<std::string> read_file(const std::filesystem::path& path, size_t max) {
  // O_NONBLOCK: a FIFO with no writer must not hang the open (it then reads
  // as empty); cleared at once, so a pipe with a writer is read to its end.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.valid()) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  if (!fd.valid()) {
    int err = errno;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return fail(path.string() + ": no such file");
    return fail(path.string() + ": cannot read (" + errno_text(err) + "); check its permissions");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(path.string() + ": is a folder, not a file");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(path.string() + ": read error (" + errno_text(errno) + ")");
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max) {
      return fail(path.string() + ": larger than " + std::to_string(max >> 20) +
                  " MiB; no configuration, certificate, key or CRL file is this large: is it a "
                  "device or a pipe that never ends?");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace tlsgate::util
