#include "config/key_pattern.h"

#include <algorithm>
#include <cctype>

#include "util/strings.h"

namespace tlsgate::config {
namespace detail {
namespace {

bool is_variable(std::string_view component) {
  return component == "<scope>" || component == "<name>";
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
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

std::string instantiate(std::string_view pattern, std::string_view var) {
  std::string out;
  for (auto part : components(pattern)) {
    if (!out.empty()) out += '.';
    out += is_variable(part) ? var : part;
  }
  return out;
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
}  // namespace

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
    // scope; its neighbours cover typos that add or drop a dot before it.
    auto index = static_cast<size_t>(var_at - pattern.begin());
    for (size_t at : {index, index - 1, index + 1}) {  // index - 1 wraps when index is 0
      if (at < parts.size() && detail::is_valid_name(parts[at])) {
        consider(detail::instantiate(doc.pattern, parts[at]));
      }
    }
  }
  if (best && alias) best = std::string(detail::kAliasPrefix) + *best;
  return best;
}

}  // namespace tlsgate::config
