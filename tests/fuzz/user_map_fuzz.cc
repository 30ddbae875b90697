// UserMap::parse (config/user_map.h) on arbitrary text, and lookups in the
// map it returns.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/user_map.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tlsgate::config::UserMap;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto map = UserMap::parse(text, "fuzz.map");
  if (!map) {
    // Errors name the file and the line.
    FUZZ_CHECK(map.error().message().rfind("fuzz.map:", 0) == 0);
    return 0;
  }

  // Every well-formed line ("IDENTITY DBUSER", no comment, no tab or CR) must
  // be in the map: its identity may log in as its user.
  size_t lines = 0;
  std::string_view rest = text;
  while (!rest.empty() && lines < 64) {
    ++lines;
    auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.find_first_of("#\t\r") != std::string_view::npos) continue;
    auto space = line.rfind(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size()) continue;
    auto identity = line.substr(0, space);
    auto user = line.substr(space + 1);
    if (identity.front() == ' ' || identity.back() == ' ') continue;
    FUZZ_CHECK(map->allows(identity, user));
    FUZZ_CHECK(map->refusal(identity, user).empty());
  }
  FUZZ_CHECK(map->size() <= lines || lines == 64);

  // Nobody without an identity, and a refusal always says why.
  FUZZ_CHECK(!map->allows("", text));
  FUZZ_CHECK(!map->refusal("", text).empty());
  (void)map->refusal(text, text);
  return 0;
}
