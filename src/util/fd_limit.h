// The process's file descriptor limit (RLIMIT_NOFILE) and its use.
//
// raise_fd_limit() lifts the soft limit to the hard one, which an
// unprivileged process may do (`ulimit -n` inside the hard limit,
// systemd's LimitNOFILE= sets both). Plain system calls, any thread.
#pragma once

#include <cstdint>

#include "util/result.h"

namespace tlsgate::util {

inline constexpr uint64_t kNoFdLimit = UINT64_MAX;  // RLIM_INFINITY

struct FdLimit {
  uint64_t soft = 0;  // what open(2), socket(2) and accept(2) are held to
  uint64_t hard = 0;  // how far the soft limit may be raised
};

FdLimit fd_limit();

// Raises the soft limit to the hard one (to /proc/sys/fs/nr_open when the
// hard one is unlimited); the limits in force afterwards. Fails, changing
// nothing, when setrlimit(2) refuses.
Result<FdLimit> raise_fd_limit();

// How many descriptors this process has open now (the entries of /proc/self/fd).
Result<uint64_t> count_open_fds();

// Grows this process's descriptor table to at least `slots` entries now
// (at most the soft limit), so that it does not grow under load. The kernel
// grows the table when a new descriptor needs a slot past its end, by
// doubling, and in a process with threads each growth waits for an RCU grace
// period (synchronize_rcu in expand_fdtable) while every thread that opens,
// accepts or connects a descriptor meanwhile sleeps on it: 8-14 ms with all
// of the gate's workers stopped, at each doubling, when a burst of clients
// first comes (bench/README.md, soak). The table never shrinks, so growing
// it once at start costs only its kernel memory: 8 bytes and 2 bits per slot.
Status reserve_fd_slots(uint64_t slots);

}  // namespace tlsgate::util
