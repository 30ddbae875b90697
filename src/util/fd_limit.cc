#include "util/fd_limit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include <fmt/format.h>

#include "util/fd.h"
#include "util/strings.h"

namespace tlsgate::util {

namespace {

uint64_t from_rlim(rlim_t v) { return v == RLIM_INFINITY ? kNoFdLimit : static_cast<uint64_t>(v); }

}  // namespace

FdLimit fd_limit() {
  rlimit r{};
  // Unknown is not zero: a limit of 0 would refuse every client.
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return {kNoFdLimit, kNoFdLimit};
  return {from_rlim(r.rlim_cur), from_rlim(r.rlim_max)};
}

Result<FdLimit> raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0)
    return fail("getrlimit(RLIMIT_NOFILE): " + errno_text(errno));
  rlim_t target = r.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel refuses an unlimited soft limit for descriptors.
    uint64_t nr_open = 0;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    if (nr_open == 0) return fail("RLIMIT_NOFILE is unlimited and /proc/sys/fs/nr_open unreadable");
    target = static_cast<rlim_t>(nr_open);
  }
  if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= target) return fd_limit();
  r.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
    return fail("setrlimit(RLIMIT_NOFILE, " + std::to_string(target) + "): " + errno_text(errno));
  }
  return fd_limit();
}

Result<uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fail("/proc/self/fd: " + errno_text(errno));
  uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // not the one opendir() used
}

Status reserve_fd_slots(uint64_t slots) {
  // F_DUPFD refuses a descriptor at or past the soft limit.
  slots = std::min(slots, fd_limit().soft);
  if (slots == 0 || slots > uint64_t{INT32_MAX}) return {};
  const int highest = static_cast<int>(slots - 1);
  Fd probe(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!probe.valid()) return fail("cannot open /dev/null: " + errno_text(errno));
  if (probe.get() >= highest) return {};
  // The lowest free slot at or above `highest`: the table grows to hold it.
  Fd far(::fcntl(probe.get(), F_DUPFD_CLOEXEC, highest));
  if (!far.valid()) {
    return fail(fmt::format("cannot grow the descriptor table to {} slots: {}", slots,
                            errno_text(errno)));
  }
  return {};
}

}  // namespace tlsgate::util
