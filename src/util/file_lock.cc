#include "util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "util/strings.h"

namespace tlsgate::util {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return fail("cannot open the lock file " + path.string() + ": " + errno_text(errno) +
                "; check that the folder is writable");
  }
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail("cannot lock " + path.string() + ": " + errno_text(errno));
  return FileLock(std::move(fd));
}

}  // namespace tlsgate::util
