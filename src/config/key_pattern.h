// Matching concrete keys against key_docs() patterns (internal to config).
//
// A pattern's variable part ("<scope>", "<name>") stands for exactly one
// dot-free component of letters, digits, '_' and '-'. A leading "dbms." on a
// policy key ("dbms.ssl.policy.bolt.client_auth") is Neo4j's spelling of the
// same key and is stripped before matching; other "dbms." keys are Neo4j's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/key_docs.h"

namespace tlsgate::config::detail {

inline constexpr std::string_view kAliasPrefix = "dbms.";

struct KeyMatch {
  const KeyDoc* doc = nullptr;
  std::string canonical;  // the key without its "dbms." alias prefix
  std::string var;        // the <scope> or <name>; "" for a fixed key
};

// KEY without the "dbms." of "dbms.ssl.policy.".
std::string_view strip_alias(std::string_view key);

// Whether KEY belongs to a family of Neo4j settings that a neo4j.conf holds
// and tlsgate does not use (dbms.memory.*, server.bolt.*, dbms.connector.*,
// ...). Only meaningful for a key that is not tlsgate's own.
bool is_neo4j_key(std::string_view key);

std::optional<KeyMatch> match_key(std::string_view key);

// The pattern KEY would match but for its <scope>/<name> component, which
// is_valid_name() refuses, and that component; nullopt otherwise.
struct NameMismatch {
  const KeyDoc* doc = nullptr;
  std::string name;
};
std::optional<NameMismatch> match_key_but_name(std::string_view key);

// "ssl.policy.<scope>.enabled" with "bolt" -> "ssl.policy.bolt.enabled".
std::string instantiate(std::string_view pattern, std::string_view var);

// Whether NAME may stand for <scope> or <name>.
bool is_valid_name(std::string_view name);

// KEY split on '.', keeping empty components.
std::vector<std::string_view> components(std::string_view key);

}  // namespace tlsgate::config::detail
