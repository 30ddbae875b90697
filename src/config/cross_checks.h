// Checks that span keys: required keys, connectors naming enabled policies,
// user_map only where a database protocol reads it, clashing listeners, and
// the warnings a valid config can still deserve (internal to config).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"

namespace tlsgate::config::detail {

// Problems in CONFIG (defaults already filled). Keys in REJECTED had a bad
// value, already reported; checks that read them are skipped.
std::vector<Diagnostic> cross_check(const Config& config, const std::set<std::string>& rejected);

}  // namespace tlsgate::config::detail
