// Times on the ACME wire: Retry-After (RFC 9110 10.2.3, the seconds form)
// and RFC 3339 timestamps (ARI windows, order expiry). Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "util/clock.h"

namespace tlsgate::acme {

// Seconds (at most a year); an HTTP-date or anything else: nullopt.
std::optional<std::chrono::seconds> retry_after_seconds(std::string_view value);
// RFC 3339 with optional fractions and a Z or +-HH:MM offset.
std::optional<util::SystemTime> parse_time(std::string_view text);

}  // namespace tlsgate::acme
