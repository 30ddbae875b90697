// ConfigBuilder: turns properties entries into a Config (internal to config).
//
// apply() checks one entry's key against key_docs() and its value against
// the key's type, records its origin and sets the field; a later entry for
// the same key wins (the loader feeds the file, then the environment).
// finish() fills the defaults that depend on other keys: paths, client_auth
// by scope, a connector's ssl_policy and upstream_server_name. No I/O.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/properties.h"
#include "config/settings.h"

namespace tlsgate::config::detail {

class ConfigBuilder {
 public:
  // source: the config file as named in messages; file: its absolute path
  // ("" for none: relative paths then start at the working directory).
  ConfigBuilder(std::string source, std::filesystem::path file);

  void apply(const Entry& entry, std::vector<Diagnostic>& diagnostics);

  Config finish();

  // Canonical keys whose last value was rejected; cross-checks that depend
  // on them are skipped rather than reported twice.
  const std::set<std::string>& rejected() const { return rejected_; }

 private:
  Config config_;
  std::set<std::string> rejected_;
};

}  // namespace tlsgate::config::detail
