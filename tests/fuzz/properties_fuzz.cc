// parse_properties() and the environment-name mangling (config/properties.h)
// on arbitrary text.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "config/properties.h"
#include "fuzz_check.h"
#include "util/strings.h"

namespace {

using tlsgate::config::environment_name;
using tlsgate::config::key_from_environment_name;

// Keys the "_" -> "__", "." -> "_" mangling can carry both ways: "._" and
// "_." (and empty components) mangle alike, so a component must neither be
// empty nor start or end with '_'. Every key of key_docs() is such a key.
bool mangling_reversible(std::string_view key) {
  if (!std::any_of(key.begin(), key.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    return false;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    auto part = key.substr(start, dot == std::string_view::npos ? key.npos : dot - start);
    if (part.empty() || part.front() == '_' || part.back() == '_') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = tlsgate::config::parse_properties(text, "fuzz.conf");

  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  int previous = 0;
  for (const auto& e : parsed.entries) {
    FUZZ_CHECK(e.where.file == "fuzz.conf");
    FUZZ_CHECK(e.where.line > previous && e.where.line <= lines);  // file order, real lines
    previous = e.where.line;
    FUZZ_CHECK(!e.key.empty());
    FUZZ_CHECK(tlsgate::util::trim(e.key) == e.key && tlsgate::util::trim(e.value) == e.value);
    FUZZ_CHECK(e.key.find('=') == std::string::npos);
    FUZZ_CHECK(e.key.find('\n') == std::string::npos && e.value.find('\n') == std::string::npos);

    auto name = environment_name(e.key);
    auto back = key_from_environment_name(name);
    if (mangling_reversible(e.key)) {
      FUZZ_CHECK(back.has_value());
      FUZZ_CHECK(*back == e.key);
    }
  }
  for (const auto& d : parsed.diagnostics) {
    FUZZ_CHECK(d.where.line >= 1 && d.where.line <= lines);
  }

  // The whole input as one environment variable name, too.
  (void)key_from_environment_name(text);
  return 0;
}
