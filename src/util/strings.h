// Small string helpers shared by the parser, the CLI and messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::util {

std::string_view trim(std::string_view s);
// Splits on sep, trims each piece, drops empty pieces.
std::vector<std::string> split_list(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Whether `text` begins with `prefix`, ASCII letters compared without case.
bool starts_with_nocase(std::string_view text, std::string_view prefix);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// Lowercase hex of bytes, optionally with a separator between bytes.
std::string hex(std::string_view bytes, std::string_view sep = "");
// What errno value `err` means ("Too many open files"), as strerror(3) says
// it but safe on any thread.
std::string errno_text(int err);

}  // namespace tlsgate::util
