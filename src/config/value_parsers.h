// Value syntax of tlsgate.conf: booleans, durations, counts, addresses,
// enums and lists, each turned into its typed form or a ValueError that
// says what is wrong and what to do (the two halves of a Diagnostic).
//
// Pure functions on strings; the CLI may reuse them (parse_address for
// `probe HOST:PORT`, parse_duration for flags).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "config/key_docs.h"
#include "config/settings.h"
#include "util/secret.h"

namespace tlsgate::config {

struct ValueError {
  std::string problem;  // `"MAYBE" is not a valid value`
  std::string fix;      // "use one of NONE, OPTIONAL, REQUIRE"
};

template <typename T>
using Parsed = tl::expected<T, ValueError>;

// true/false, yes/no, on/off, 1/0, in any case.
Parsed<bool> parse_bool(std::string_view text);

// Seconds ("10", "0.5") or a number with a unit: ms, s, m, h, d. Must be
// above 0 unless zero_allowed.
Parsed<Seconds> parse_duration(std::string_view text, bool zero_allowed);

// A whole number in [min, max].
Parsed<uint64_t> parse_count(std::string_view text, uint64_t min, uint64_t max);

// host:port, [ipv6]:port or :port (any interface); port 1-65535.
Parsed<HostPort> parse_address(std::string_view text);

// One of ALLOWED, in any case; returns the spelling as listed. "off" also
// answers to none, false and no.
Parsed<std::string> parse_enum(std::string_view text, const std::vector<std::string>& allowed);

// Items separated by ';' (and ',' when doc.comma_ok), trimmed, empty ones
// dropped; each must be one of doc.allowed when that is not empty (returned
// in the listed spelling); at least doc.min items.
Parsed<std::vector<std::string>> parse_list(std::string_view text, const KeyDoc& doc);

// A parsed value of any ValueType: kEnum gives its canonical spelling as a
// string, kCount a uint64_t, kPath the path as written (resolved later).
using Value = std::variant<bool, std::string, std::filesystem::path, util::Secret,
                           std::vector<std::string>, Seconds, uint64_t, HostPort>;

// TEXT parsed as DOC's type, with DOC's limits. Only secrets and lists may be empty.
Parsed<Value> parse_value(const KeyDoc& doc, std::string_view text);

}  // namespace tlsgate::config
