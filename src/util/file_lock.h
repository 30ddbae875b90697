// FileLock: an exclusive flock(2) on a file, held while the object lives.
//
// The `cert` verbs that read a CA folder's files, change them and write them
// back (revoke: revocations.txt, crlnumber, ca.crl; crl: crlnumber, ca.crl)
// take DIR/.lock first, so two of them at once (a cron job's `cert crl` and
// an operator's `cert revoke`, or a script revoking in parallel) queue up
// instead of each writing its own copy over the other's: ten revocations run
// at once used to leave two in the CRL.
#pragma once

#include <filesystem>

#include "util/fd.h"
#include "util/result.h"

namespace tlsgate::util {

class FileLock {
 public:
  // Creates `path` if needed (mode 0644) and waits until the lock is free.
  static Result<FileLock> acquire(const std::filesystem::path& path);

 private:
  explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;  // closing it releases the lock
};

}  // namespace tlsgate::util
