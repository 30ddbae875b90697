// Diagnostic: one problem found in a config file, formatted for a person.
//
//   FILE:LINE: KEY: what is wrong; what to do
// LINE is 0 (and omitted) when the problem is not on one line (a missing
// required key); an environment override reports its variable as the file
// ("environment TLSGATE_x_y:0" is printed as "environment TLSGATE_x_y").
#pragma once

#include <string>
#include <vector>

namespace tlsgate::config {

struct Location {
  std::string file;  // config file path as given, or "environment TLSGATE_..."
  int line = 0;      // 1-based; 0 = not tied to a line
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  Location where;
  std::string key;      // the full key, e.g. "ssl.policy.bolt.ciphers"
  std::string problem;  // "unknown key"
  std::string fix;      // "did you mean ssl.policy.bolt.client_auth?"
};

// "FILE:LINE: KEY: problem; fix" (": " and "; " parts omitted when empty).
std::string format(const Diagnostic& d);

}  // namespace tlsgate::config
