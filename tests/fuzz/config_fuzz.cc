// The whole config loader (config/loader.h): properties, environment
// overrides, key and value validation, defaults, cross-checks, the "did you
// mean" of unknown keys, diagnostics, and `check --explain` on every key named.
//
// Input: the config text; after the first NUL byte, environment entries
// ("TLSGATE_key=value") separated by NUL bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/key_docs.h"
#include "config/loader.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate::config;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view text = in.substr(0, in.find('\0'));
  std::vector<std::string> env;
  if (text.size() < in.size()) {
    std::string_view rest = in.substr(text.size() + 1);
    while (!rest.empty()) {
      auto end = rest.find('\0');
      env.emplace_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  }

  // A path that does not exist: the loader must not read any file but the
  // config file itself, which load_config_text() is given as text.
  auto result = load_config_text(text, "/nonexistent/fuzz/tlsgate.conf", env);
  bool has_error = false;
  for (const auto& d : result.diagnostics) {
    auto line = format(d);
    FUZZ_CHECK(!line.empty());
    // Quoted text cannot end the line, drive a terminal or reverse the line.
    for (unsigned char c : line) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    FUZZ_CHECK(line.find("\xe2\x80\xae") == std::string::npos);  // U+202E
    FUZZ_CHECK(!d.problem.empty());
    has_error = has_error || d.severity == Diagnostic::Severity::kError;
    if (!d.key.empty()) {
      // `check --explain KEY` on what the user wrote; unknown keys have none.
      auto doc = explain(d.key);
      if (doc) FUZZ_CHECK(doc->find('\n') != std::string::npos);  // "PATTERN\n  type: ..."
    }
  }
  // ok() exactly when no diagnostic is an error (loader.h).
  FUZZ_CHECK(result.ok() == !has_error);
  return 0;
}
