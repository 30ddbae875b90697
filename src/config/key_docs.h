// KeyDoc: the one table of every config key, serving validation and `check --explain`.
//
// Patterns use "<scope>" and "<name>" for the variable part:
// "ssl.policy.<scope>.client_auth", "connector.<name>.listen_address",
// "server.worker_threads". find_key_doc() matches a concrete key against the
// patterns; nearest_key() produces the "did you mean" for unknown keys, and
// bad_name_in_key() the error for a key whose scope or name cannot be one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::config {

enum class ValueType {
  kBool,  // true/false (also yes/no, on/off, 1/0; case-insensitive)
  kString,
  kPath,      // relative to the config file's folder (policy files: to base_directory)
  kSecret,    // never printed
  kEnum,      // one of allowed (case-insensitive on input, printed as listed)
  kList,      // ';'-separated (',' also accepted where no value can hold a comma)
  kDuration,  // seconds, fractions allowed ("0.5"), or with unit: 500ms, 10s, 5m, 1h, 1d
  kCount,     // non-negative integer
  kAddress,   // host:port, [v6]:port; port 1-65535 (0 allowed only where documented)
};

struct KeyDoc {
  std::string pattern{};  // "ssl.policy.<scope>.client_auth"
  ValueType type = ValueType::kString;
  std::string
      default_text{};  // as shown by --explain: "REQUIRE for cluster and backup, else OPTIONAL"
  std::vector<std::string> allowed{};  // enum values, or the list items allowed (tls_versions)
  std::string doc{};                   // one or two sentences
  // Limits the value parser checks. kCount: the accepted range [min, max].
  // kList: min is the fewest items. kDuration: zero_allowed means 0 is
  // accepted (it turns the feature off); otherwise a duration must be > 0.
  uint64_t min = 0;
  uint64_t max = UINT32_MAX;
  bool zero_allowed = false;
  bool comma_ok = false;  // kList: ',' separates items too (no item can hold a comma)
  // Non-empty for a key that is accepted and parsed but has no effect yet:
  // what is missing. Setting such a key is a warning from the loader (so
  // `serve` and `check` both say it), and --explain shows it (STYLE.md 22).
  std::string not_implemented{};
};

const std::vector<KeyDoc>& key_docs();

// The doc whose pattern matches KEY (after stripping a "dbms." alias), or nullopt.
const KeyDoc* find_key_doc(std::string_view key);

// The closest valid key to an unknown KEY, keeping its <scope>/<name> part
// ("ssl.policy.bolt.client_auht" -> "ssl.policy.bolt.client_auth"); nullopt
// when nothing is close enough to be a useful suggestion, or KEY is longer
// than 256 characters (no real key is; the search is quadratic in the length).
std::optional<std::string> nearest_key(std::string_view key);

// An unknown KEY that would be a key but for its <scope> or <name>, which is
// empty or holds a character other than ASCII letters, digits, '_' and '-':
// what is wrong, naming each such character escaped ("the scope name
// \"p\xc3\xb3licy\" holds U+00F3 ..."), and the fix. nullopt for any other key.
struct KeyProblem {
  std::string problem;
  std::string fix;
};
std::optional<KeyProblem> bad_name_in_key(std::string_view key);

// Text for `tlsgate check --explain KEY`: key pattern, type, default,
// allowed values and doc. nullopt if the key is unknown.
std::optional<std::string> explain(std::string_view key);

std::string to_string(ValueType t);

}  // namespace tlsgate::config
