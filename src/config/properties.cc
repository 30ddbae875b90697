#include "config/properties.h"

#include <algorithm>
#include <cctype>

#include "util/strings.h"

namespace tlsgate::config {
namespace {

constexpr std::string_view kEnvPrefix = "TLSGATE_";
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool continues(std::string_view line) {
  size_t backslashes = 0;
  while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') ++backslashes;
  return backslashes % 2 == 1;
}

bool is_comment_or_blank(std::string_view line) {
  auto t = util::trim(line);
  return t.empty() || t.front() == '#' || t.front() == '!';
}

// One `key=value` line (continuations already joined) into entries or diagnostics.
void parse_line(std::string_view line, const Location& where, ParsedProperties& out) {
  auto t = util::trim(line);
  auto eq = t.find('=');
  if (eq == std::string_view::npos) {
    out.diagnostics.push_back({Diagnostic::Severity::kError, where, "", "line has no '='",
                               "write key=value, or start a comment with #"});
    return;
  }
  auto key = util::trim(t.substr(0, eq));
  if (key.empty()) {
    out.diagnostics.push_back(
        {Diagnostic::Severity::kError, where, "", "line has no key before '='", "write key=value"});
    return;
  }
  auto value = util::trim(t.substr(eq + 1));
  // `key=value   # note` keeps the note in the value (a comment is a line of
  // its own, as in Java properties and neo4j.conf): the last name of an
  // identity list becomes `bob   # note` and never matches. The value is not
  // quoted (it may be a secret); passwords, which may hold " #", are left alone.
  if (auto hash = value.find('#'); hash != std::string_view::npos && hash > 0 &&
                                   (value[hash - 1] == ' ' || value[hash - 1] == '\t') &&
                                   key.find("password") == std::string_view::npos) {
    out.diagnostics.push_back(
        {Diagnostic::Severity::kWarning, where, std::string(key),
         "the value holds \" #\" (at its character " + std::to_string(hash + 1) +
             "), which reads like a comment; a comment is a line of its own, so the rest is part "
             "of the value",
         "move the comment to a line above the key"});
  }
  out.entries.push_back({std::string(key), std::string(value), where});
}

}  // namespace

ParsedProperties parse_properties(std::string_view text, const std::string& file) {
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  ParsedProperties out;
  std::string logical;
  int first_line = 0;  // line of the logical line being continued; 0 = none
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);

    if (first_line == 0) {
      if (is_comment_or_blank(line)) continue;
      first_line = number;
      logical.clear();
    } else {
      line = util::trim(line);  // a continuation's indentation is layout, not value
    }
    if (continues(line)) {
      logical += line.substr(0, line.size() - 1);
      continue;
    }
    logical += line;
    parse_line(logical, Location{file, first_line}, out);
    first_line = 0;
  }
  if (first_line != 0) parse_line(logical, Location{file, first_line}, out);
  return out;
}

std::optional<std::string> key_from_environment_name(std::string_view name) {
  if (!name.starts_with(kEnvPrefix)) return std::nullopt;
  name.remove_prefix(kEnvPrefix.size());
  bool has_lower = std::any_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0;
  });
  if (!has_lower) return std::nullopt;
  std::string key;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '_') {
      key += name[i];
    } else if (i + 1 < name.size() && name[i + 1] == '_') {
      key += '_';
      ++i;
    } else {
      key += '.';
    }
  }
  return key;
}

std::vector<Entry> environment_entries(const std::vector<std::string>& env) {
  std::vector<Entry> out;
  for (const auto& var : env) {
    auto eq = var.find('=');
    if (eq == std::string::npos) continue;
    auto name = std::string_view(var).substr(0, eq);
    auto key = key_from_environment_name(name);
    if (!key) continue;
    out.push_back({*key, std::string(util::trim(std::string_view(var).substr(eq + 1))),
                   Location{"environment " + std::string(name), 0}});
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.where.file < b.where.file; });
  return out;
}

std::string environment_name(std::string_view key) {
  std::string out(kEnvPrefix);
  for (char c : key) {
    if (c == '_') {
      out += "__";
    } else if (c == '.') {
      out += '_';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace tlsgate::config
