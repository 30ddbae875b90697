// `tlsgate check --explain KEY`: one key's doc, read from key_docs().
#include "config/key_docs.h"
#include "config/key_pattern.h"
#include "config/properties.h"
#include "util/strings.h"

namespace tlsgate::config {
namespace {

// The default for a concrete key, where it depends on the <scope> or <name>.
std::string effective_default(const KeyDoc& doc, const std::string& var) {
  if (var.empty()) return doc.default_text;
  if (doc.pattern == "ssl.policy.<scope>.client_auth") {
    return std::string(var == "cluster" || var == "backup" ? "REQUIRE" : "OPTIONAL") + " (scope " +
           var + ")";
  }
  if (doc.pattern == "ssl.policy.<scope>.base_directory") {
    return "certificates/" + var + ", relative to the config file";
  }
  if (doc.pattern == "connector.<name>.ssl_policy") return var + " (the connector's name)";
  return doc.default_text;
}

void line(std::string& out, std::string_view label, std::string_view value) {
  out += "  ";
  out += label;
  out += ':';
  out.append(9 - label.size(), ' ');
  out += value;
  out += '\n';
}

}  // namespace

std::optional<std::string> explain(std::string_view key) {
  std::string query(util::trim(key));
  if (auto from_env = key_from_environment_name(query)) query = *from_env;
  const std::string bare(detail::strip_alias(query));

  const KeyDoc* doc = nullptr;
  std::string concrete;
  std::string var;
  for (const auto& d : key_docs()) {
    if (d.pattern == bare) doc = &d;
  }
  if (doc == nullptr) {
    auto match = detail::match_key(bare);
    if (!match && detail::is_neo4j_key(bare)) {
      return bare +
             "\n  A Neo4j setting (neo4j.conf): tlsgate does not use it; check and serve "
             "report it as ignored, so a neo4j.conf's SSL section can be used as it is.\n";
    }
    if (!match) return std::nullopt;
    doc = match->doc;
    concrete = match->canonical;
    var = match->var;
  }

  std::string out = doc->pattern + "\n";
  if (!concrete.empty() && concrete != doc->pattern) line(out, "key", concrete);
  line(out, "type", to_string(doc->type));
  line(out, "default", effective_default(*doc, var));
  if (!doc->allowed.empty()) line(out, "allowed", util::join(doc->allowed, ", "));
  if (doc->type == ValueType::kCount) {
    line(out, "range", std::to_string(doc->min) + " to " + std::to_string(doc->max));
  }
  line(out, "env", environment_name(concrete.empty() ? doc->pattern : concrete));
  if (!doc->not_implemented.empty()) {
    line(out, "status", "NOT IMPLEMENTED YET, setting it has no effect: " + doc->not_implemented);
  }
  out += "  " + doc->doc + "\n";
  return out;
}

}  // namespace tlsgate::config
