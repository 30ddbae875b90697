// When to renew an ACME certificate, and how long to wait after a failure.
// Pure functions of the certificate's dates and the clock; the manager
// (acme/manager.h) applies them.
//
// Without ARI (RFC 9773) a certificate is renewed at two thirds of its
// lifetime, or at half of it when it lives 10 days or less (short-lived
// certificates leave less room for a failing CA), less a jitter of up to a
// twentieth of the lifetime (at most an hour) so that a fleet issued at one
// moment does not renew at one moment. With ARI the CA's window rules: a
// random moment inside it.
//
// After a failed attempt the next waits 30 s, doubling per failure up to
// 6 h; with a certificate still valid, never longer than a tenth of the time
// it has left (so a short-lived one gets its tries before it expires), and
// never shorter than one second. Never a tight loop.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "util/clock.h"

namespace tlsgate::acme {

struct Validity {
  util::SystemTime not_before{};
  util::SystemTime not_after{};
};

// The moment to renew a certificate with these dates; `unit` in [0, 1)
// picks the jitter (0: none).
util::SystemTime renewal_time(const Validity& v, double unit);

// A moment in the ARI window [start, end], `unit` in [0, 1) picking it.
util::SystemTime moment_in_window(util::SystemTime start, util::SystemTime end, double unit);

// How long to wait after the `failures`-th failure in a row (1 = first);
// `current` the certificate served now, if any.
std::chrono::seconds retry_delay(int failures, const std::optional<Validity>& current,
                                 util::SystemTime now);

}  // namespace tlsgate::acme
