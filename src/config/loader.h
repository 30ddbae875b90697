// Loading a tlsgate.conf into typed settings, with validation in one pass.
//
// load_config() reads the file, applies environment overrides (the
// environment wins), maps "dbms." aliases, checks every key and value against
// key_docs(), cross-checks (connectors name existing enabled policies,
// required keys present, user_map only for postgres/mysql, duplicate keys),
// and returns either a Config or every Diagnostic found. It touches no file
// but the config file itself: whether the certificates exist is `check`'s job.
// Warnings (e.g. trust_all=true) are returned alongside a Config.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"

namespace tlsgate::config {

struct LoadResult {
  std::optional<Config> config;         // set when there is no error
  std::vector<Diagnostic> diagnostics;  // errors (config unset) and warnings, in file order
  bool ok() const { return config.has_value(); }
};

// env: "NAME=VALUE" strings (pass current_environment() in production).
LoadResult load_config(const std::filesystem::path& file, const std::vector<std::string>& env);

// Same, from text already read; `file` is used for messages and relative paths.
LoadResult load_config_text(std::string_view text, const std::filesystem::path& file,
                            const std::vector<std::string>& env);

std::vector<std::string> current_environment();

}  // namespace tlsgate::config
