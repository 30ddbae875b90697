#include "config/key_pattern.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

#include "util/peer_text.h"
#include "util/strings.h"

namespace tlsgate::config {
namespace detail {
namespace {

bool is_variable(std::string_view component) {
  return component == "<scope>" || component == "<name>";
}

bool allowed_in_name(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x80 && std::isalnum(u) != 0) || c == '_' || c == '-';
}

}  // namespace

std::string_view strip_alias(std::string_view key) {
  if (key.starts_with(kAliasPrefix) && key.substr(kAliasPrefix.size()).starts_with("ssl.policy.")) {
    key.remove_prefix(kAliasPrefix.size());
  }
  return key;
}

bool is_neo4j_key(std::string_view key) {
  // Families, as the Neo4j 4.x and 5.x operations manuals write neo4j.conf.
  // "server." is tlsgate's prefix too, so only Neo4j's families under it
  // count; "dbms.ssl.policy." is the alias above, never ignored.
  static constexpr std::string_view kFamilies[] = {
      "dbms.connector.",
      "dbms.netty.",
      "dbms.memory.",
      "dbms.security.",
      "dbms.directories.",
      "dbms.tx_log.",
      "dbms.jvm.",
      "dbms.logs.",
      "dbms.backup.",
      "dbms.routing.",
      "dbms.cluster.",
      "dbms.transaction.",
      "dbms.checkpoint.",
      "dbms.query_cache.",
      "dbms.track_query_",
      "dbms.db.",
      "dbms.default_",
      "dbms.mode",
      "dbms.allow_",
      "dbms.udc.",
      "dbms.windows_",
      "dbms.recovery.",
      "dbms.lock.",
      "dbms.index.",
      "dbms.bolt.",
      "dbms.http.",
      "dbms.upgrade_",
      "dbms.read_only",
      "dbms.max_databases",
      "dbms.databases.",
      "server.memory.",
      "server.directories.",
      "server.jvm.",
      "server.https.",
      "server.http.",
      "server.bolt.",
      "server.cluster.",
      "server.default_",
      "server.logs.",
      "server.backup.",
      "server.routing.",
      "server.discovery.",
      "server.groups",
      "server.windows_",
      "server.config.",
      "server.dbms.",
      "server.databases.",
      "server.metrics.",
      "server.threads.",
      "server.panic.",
      "server.unmanaged_extension_classes",
      "server.security.",
      "server.tags",
      "server.max_databases",
      "server.db.",
      "server.uris.",
      "server.http_enabled_",
      "server.https_enabled_",
      "initial.dbms.",
      "initial.server.",
      "db.",
      "browser.",
      "metrics.",
      "causal_clustering.",
      "fabric.",
      "apoc.",
      "gds.",
      "internal.",
      "unsupported.",
  };
  return std::any_of(std::begin(kFamilies), std::end(kFamilies),
                     [&](std::string_view family) { return key.starts_with(family); });
}

std::vector<std::string_view> components(std::string_view key) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    out.push_back(
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool is_valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), allowed_in_name);
}

std::string instantiate(std::string_view pattern, std::string_view var) {
  std::string out;
  for (auto part : components(pattern)) {
    if (!out.empty()) out += '.';
    out += is_variable(part) ? var : part;
  }
  return out;
}

std::optional<NameMismatch> match_key_but_name(std::string_view key) {
  auto parts = components(strip_alias(key));
  for (const auto& doc : key_docs()) {
    auto pattern = components(doc.pattern);
    if (pattern.size() != parts.size()) continue;
    std::optional<std::string_view> var;
    bool ok = true;
    for (size_t i = 0; ok && i < parts.size(); ++i) {
      if (is_variable(pattern[i])) {
        var = parts[i];
      } else {
        ok = pattern[i] == parts[i];
      }
    }
    if (ok && var && !is_valid_name(*var)) return NameMismatch{&doc, std::string(*var)};
  }
  return std::nullopt;
}

std::optional<KeyMatch> match_key(std::string_view key) {
  auto canonical = strip_alias(key);
  auto parts = components(canonical);
  for (const auto& doc : key_docs()) {
    auto pattern = components(doc.pattern);
    if (pattern.size() != parts.size()) continue;
    std::string var;
    bool ok = true;
    for (size_t i = 0; ok && i < parts.size(); ++i) {
      if (is_variable(pattern[i])) {
        ok = is_valid_name(parts[i]);
        var = parts[i];
      } else {
        ok = pattern[i] == parts[i];
      }
    }
    if (ok) return KeyMatch{&doc, std::string(canonical), var};
  }
  return std::nullopt;
}

}  // namespace detail

const KeyDoc* find_key_doc(std::string_view key) {
  auto m = detail::match_key(key);
  return m ? m->doc : nullptr;
}

namespace {

constexpr size_t kMaxSuggestedKeyLength = 256;
constexpr size_t kMaxCharactersShown = 5;

// Only ever given control bytes and bytes of 0x80 and above: each as \xNN.
std::string escaped(std::string_view bytes) { return util::escape_peer_text(bytes, bytes.size()); }

// Code points a terminal shows as nothing, as a blank or on top of the
// quote before them: these are named by number only.
bool invisible(uint32_t cp) {
  return cp <= 0xa0 || cp == 0xad || (cp >= 0x300 && cp <= 0x36f) ||
         (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
         (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || (cp >= 0xe000 && cp <= 0xf8ff) ||
         (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xffff) ||
         cp >= 0xe0000;
}

// The character of TEXT at I as a message names it, and I moved past it:
// "@", " " (\x20), \x1b, U+00F3 "ó" (bytes \xc3\xb3), U+200B (bytes
// \xe2\x80\x8b), or byte \xff (not UTF-8).
std::string describe_character(std::string_view text, size_t& i) {
  const auto b = static_cast<unsigned char>(text[i]);
  if (b < 0x80) {
    ++i;
    if (b < 0x20 || b == 0x7f) return escaped(text.substr(i - 1, 1));
    if (b == ' ') return "\" \" (\\x20)";
    return "\"" + std::string(1, static_cast<char>(b)) + "\"";
  }
  const size_t len = b >= 0xc2 && b <= 0xdf   ? 2
                     : b >= 0xe0 && b <= 0xef ? 3
                     : b >= 0xf0 && b <= 0xf4 ? 4
                                              : 0;
  uint32_t cp = len == 2 ? b & 0x1fU : len == 3 ? b & 0x0fU : b & 0x07U;
  bool ok = len != 0 && i + len <= text.size();
  for (size_t k = 1; ok && k < len; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    ok = (c & 0xc0) == 0x80;
    cp = (cp << 6) | (c & 0x3fU);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
  ok = ok && !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
       !(cp >= 0xd800 && cp <= 0xdfff);
  if (!ok) {
    ++i;
    return "byte " + escaped(text.substr(i - 1, 1)) + " (not UTF-8)";
  }
  const auto sequence = text.substr(i, len);
  i += len;
  char number[16];
  std::snprintf(number, sizeof number, "U+%04X", static_cast<unsigned>(cp));
  std::string out = number;
  if (!invisible(cp)) out += " \"" + std::string(sequence) + "\"";
  return out + " (bytes " + escaped(sequence) + ")";
}

}  // namespace

std::optional<KeyProblem> bad_name_in_key(std::string_view key) {
  auto mismatch = detail::match_key_but_name(key);
  if (!mismatch) return std::nullopt;
  const std::string what =
      mismatch->doc->pattern.find("<name>") != std::string::npos ? "connector" : "scope";
  const std::string& name = mismatch->name;
  KeyProblem out;
  out.fix =
      "a " + what + " name may hold only ASCII letters, digits, '_' and '-'; rename the " + what;
  if (name.empty()) {
    out.problem = "the " + what + " name is empty";
    out.fix = "name the " + what + " between the dots with ASCII letters, digits, '_' and '-'";
    return out;
  }
  std::vector<std::string> shown;
  size_t more = 0;
  for (size_t i = 0; i < name.size();) {
    if (detail::allowed_in_name(name[i])) {
      ++i;
      continue;
    }
    auto character = describe_character(name, i);
    if (std::find(shown.begin(), shown.end(), character) != shown.end()) continue;
    if (shown.size() == kMaxCharactersShown) {
      ++more;
    } else {
      shown.push_back(std::move(character));
    }
  }
  if (more > 0) shown.push_back(std::to_string(more) + " more");
  std::string list = shown.front();
  for (size_t k = 1; k < shown.size(); ++k) {
    list += (k + 1 == shown.size() ? " and " : ", ") + shown[k];
  }
  out.problem = "the " + what + " name \"" + name + "\" holds " + list;
  return out;
}

std::optional<std::string> nearest_key(std::string_view key) {
  const auto bare = detail::strip_alias(key);
  const bool alias = bare.size() != key.size();
  // Each candidate costs an edit distance, quadratic in the lengths: a key
  // far longer than any real one gets no suggestion rather than minutes of work.
  if (bare.size() > kMaxSuggestedKeyLength) return std::nullopt;
  const auto lowered = util::to_lower(bare);
  const auto parts = detail::components(bare);
  const size_t threshold = std::max<size_t>(2, bare.size() / 4);

  std::optional<std::string> best;
  size_t best_distance = threshold + 1;
  auto consider = [&](std::string candidate) {
    // The distance is at least the difference in length: skip the quadratic
    // part for candidates that cannot win.
    size_t gap =
        std::max(lowered.size(), candidate.size()) - std::min(lowered.size(), candidate.size());
    if (gap >= best_distance) return;
    size_t d = util::edit_distance(lowered, util::to_lower(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = std::move(candidate);
    }
  };
  for (const auto& doc : key_docs()) {
    auto pattern = detail::components(doc.pattern);
    auto var_at = std::find_if(pattern.begin(), pattern.end(),
                               [](auto p) { return p == "<scope>" || p == "<name>"; });
    if (var_at == pattern.end()) {
      consider(doc.pattern);
      continue;
    }
    // The key's own component at the variable's position is the likely
    // scope. A key with one component fewer may have dropped a dot before
    // it (the scope is one to the left), one with a component more may have
    // added one (one to the right); with as many components as the pattern,
    // no other component is a plausible scope (ssl.policy.pólicy.enabled
    // does not mean ssl.policy.policy.enabled).
    auto index = static_cast<size_t>(var_at - pattern.begin());
    size_t neighbour = parts.size() + 1 == pattern.size()   ? index - 1  // wraps when index is 0
                       : parts.size() == pattern.size() + 1 ? index + 1
                                                            : index;
    for (size_t at : {index, neighbour}) {
      if (at < parts.size() && detail::is_valid_name(parts[at])) {
        consider(detail::instantiate(doc.pattern, parts[at]));
      }
    }
  }
  if (best && alias) best = std::string(detail::kAliasPrefix) + *best;
  return best;
}

}  // namespace tlsgate::config
