#include "acme/http_time.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "pki/revocation_index.h"
#include "util/strings.h"

namespace tlsgate::acme {

std::optional<std::chrono::seconds> retry_after_seconds(std::string_view value) {
  value = util::trim(value);
  long long n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size() || n < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::min<long long>(n, 365LL * 24 * 3600));
}

std::optional<util::SystemTime> parse_time(std::string_view text) {
  if (text.size() < 20) return std::nullopt;
  std::string whole(text.substr(0, 19));
  std::string_view rest = text.substr(19);
  if (rest.starts_with('.')) {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    if (i == 1) return std::nullopt;
    rest.remove_prefix(i);
  }
  std::chrono::minutes offset{0};
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int h = 0, m = 0;
    auto r1 = std::from_chars(rest.data() + 1, rest.data() + 3, h);
    auto r2 = std::from_chars(rest.data() + 4, rest.data() + 6, m);
    if (r1.ec != std::errc() || r2.ec != std::errc() || h > 23 || m > 59) return std::nullopt;
    offset = std::chrono::minutes(h * 60 + m) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  // system_clock counts nanoseconds: years far from 1970 overflow it.
  if (whole.compare(0, 4, "1970") < 0 || whole.compare(0, 4, "2200") > 0) return std::nullopt;
  if (whole[10] == 't') whole[10] = 'T';
  auto t = pki::parse_rfc3339(whole + "Z");
  if (!t) return std::nullopt;
  return *t - offset;
}

}  // namespace tlsgate::acme
