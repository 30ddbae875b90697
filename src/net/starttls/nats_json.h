// The little JSON that NATS's INFO and CONNECT lines need: walk the members
// of one top-level object without building a tree, decode a string, write
// one. Pure functions on bytes, no sockets (STYLE.md practice 19).
//
// Members are returned as spans into the input, so a line can be rebuilt
// with every member the gate does not manage kept byte for byte. Keys are
// decoded (a backend writing "connect\u005furls" must not slip past the
// rewrite). Nesting is bounded by kMaxNatsJsonDepth; anything that is not one
// well-formed object (trailing bytes included) is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::net::starttls {

inline constexpr int kMaxNatsJsonDepth = 32;

struct JsonMember {
  std::string key;         // decoded
  std::string_view raw;    // `"key":value` as written (without surrounding whitespace)
  std::string_view value;  // the value as written
};

// The members of the object TEXT, in order; nullopt when TEXT is not one
// well-formed JSON object.
std::optional<std::vector<JsonMember>> json_object_members(std::string_view text);

// A JSON string value (with its quotes) decoded; nullopt when VALUE is not a
// well-formed string.
std::optional<std::string> json_string_value(std::string_view value);

// TEXT as a JSON string, quotes included.
std::string json_quote(std::string_view text);

}  // namespace tlsgate::net::starttls
