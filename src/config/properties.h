// The properties file format: `key=value` lines, `#` and `!` comments.
//
// Whitespace around keys and values is trimmed; a line ending in an odd
// number of backslashes continues on the next; blank lines are skipped. A
// line without '=' is a diagnostic, not a silent skip. The parser knows no
// key names: it returns entries in file order with their line numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace tlsgate::config {

struct Entry {
  std::string key;
  std::string value;
  Location where;
};

struct ParsedProperties {
  std::vector<Entry> entries;
  std::vector<Diagnostic> diagnostics;  // syntax errors
};

ParsedProperties parse_properties(std::string_view text, const std::string& file);

// Environment overrides: every "TLSGATE_<mangled key>" variable in env
// (entries "NAME=VALUE"), unmangled ("__" -> "_", "_" -> ".") into an Entry
// whose location file is "environment TLSGATE_...". Sorted by variable name.
// Variables with no lowercase letter after the prefix (TLSGATE_BIN,
// TLSGATE_CONF) belong to tools and scripts, not to the config, and are
// skipped: every config key is lowercase.
std::vector<Entry> environment_entries(const std::vector<std::string>& env);

// The key an environment variable sets ("TLSGATE_ssl_policy_bolt_base__directory"
// -> "ssl.policy.bolt.base_directory"), or nullopt when NAME is not a config
// override (see environment_entries()).
std::optional<std::string> key_from_environment_name(std::string_view name);

// Key -> environment variable name: "_" -> "__", then "." -> "_", prefixed
// "TLSGATE_". ("ssl.policy.bolt.base_directory" -> "TLSGATE_ssl_policy_bolt_base__directory")
std::string environment_name(std::string_view key);

}  // namespace tlsgate::config
