// acme::Client::parse_renewal_info on arbitrary bytes (an ACME server's
// renewalInfo body) with an arbitrary Retry-After: never throws (nlohmann
// parses without exceptions, members are type-checked), an accepted window
// ends after it starts and its retry is within RFC 9773's minute..day, and a
// refusal is one printable line (the body it quotes is escaped).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acme/client.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  // The first line is the Retry-After value, the rest the body.
  auto newline = all.find('\n');
  std::string_view retry = newline == std::string_view::npos ? "" : all.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? all : all.substr(newline + 1);
  auto info = tlsgate::acme::Client::parse_renewal_info(body, retry);
  if (info) {
    FUZZ_CHECK(info->window_end > info->window_start);
    FUZZ_CHECK(info->retry_after.count() >= 60 && info->retry_after.count() <= 86400);
  } else {
    for (char c : info.error().message()) {
      auto b = static_cast<unsigned char>(c);
      FUZZ_CHECK(b >= 0x20 && b < 0x7f);
    }
  }
  return 0;
}
