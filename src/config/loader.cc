#include "config/loader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "config/config_builder.h"
#include "config/cross_checks.h"
#include "config/key_pattern.h"
#include "config/properties.h"
#include "util/atomic_file.h"

namespace tlsgate::config {
namespace {

namespace fs = std::filesystem;

Diagnostic file_problem(const fs::path& file, std::string problem, std::string fix) {
  return {Diagnostic::Severity::kError, Location{file.string(), 0}, "", std::move(problem),
          std::move(fix)};
}

// A key set twice in the file is an error even though the later line would
// win: one of the two lines is a mistake, and we cannot tell which.
void report_duplicates(const std::vector<Entry>& entries, std::vector<Diagnostic>& diagnostics) {
  std::map<std::string, int> first_line;
  for (const auto& e : entries) {
    auto match = detail::match_key(e.key);
    if (!match) continue;
    auto [it, fresh] = first_line.emplace(match->canonical, e.where.line);
    if (!fresh) {
      diagnostics.push_back({Diagnostic::Severity::kError, e.where, e.key,
                             "set twice (first at line " + std::to_string(it->second) + ")",
                             "remove one of the two lines"});
    }
  }
}

// File order: lines of the file, then environment variables, then problems
// that belong to no line (missing keys).
void sort_in_file_order(std::vector<Diagnostic>& diagnostics, const std::string& source) {
  auto rank = [&](const Diagnostic& d) {
    if (d.where.file == source && d.where.line > 0) return std::pair(0, d.where.line);
    if (d.where.file != source) return std::pair(1, 0);
    return std::pair(2, 0);
  };
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return rank(a) < rank(b); });
}

}  // namespace

LoadResult load_config_text(std::string_view text, const fs::path& file,
                            const std::vector<std::string>& env) {
  const std::string source = file.string();
  auto parsed = parse_properties(text, source);
  LoadResult result;
  auto& diagnostics = result.diagnostics;
  diagnostics = std::move(parsed.diagnostics);
  report_duplicates(parsed.entries, diagnostics);

  detail::ConfigBuilder builder(source,
                                file.empty() ? fs::path() : fs::absolute(file).lexically_normal());
  for (const auto& e : parsed.entries) builder.apply(e, diagnostics);
  for (const auto& e : environment_entries(env)) builder.apply(e, diagnostics);
  Config config = builder.finish();
  for (auto& d : detail::cross_check(config, builder.rejected()))
    diagnostics.push_back(std::move(d));

  sort_in_file_order(diagnostics, source);
  bool has_error = std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  if (!has_error) result.config = std::move(config);
  return result;
}

LoadResult load_config(const fs::path& file, const std::vector<std::string>& env) {
  LoadResult failed;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    failed.diagnostics.push_back(
        file_problem(file, "no such file", "give the config file's path with -c/--config"));
    return failed;
  }
  if (fs::is_directory(file, ec)) {
    failed.diagnostics.push_back(file_problem(file, "is a folder, not a file",
                                              "give the config file's path with -c/--config"));
    return failed;
  }
  auto text = util::read_file(file);
  if (!text) {
    // read_file's message starts with the path, which file_problem's location gives.
    std::string why = text.error().message();
    if (why.rfind(file.string() + ": ", 0) == 0) why.erase(0, file.string().size() + 2);
    failed.diagnostics.push_back(
        file_problem(file, why, "check the path (-c/--config) and the file's permissions"));
    return failed;
  }
  return load_config_text(*text, file, env);
}

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** var = environ; var != nullptr && *var != nullptr; ++var) out.emplace_back(*var);
  return out;
}

}  // namespace tlsgate::config
