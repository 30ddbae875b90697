#include "config/value_parsers.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "util/strings.h"

namespace tlsgate::config {
namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Length of the leading "digits[.digits]" of S; 0 if there is none.
size_t number_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
  if (i == 0) return 0;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) != 0) ++j;
    if (j == i + 1) return 0;  // "5." is neither a whole number nor a fraction
    i = j;
  }
  return i;
}

std::optional<double> unit_seconds(std::string_view unit) {
  auto u = util::to_lower(unit);
  if (u.empty() || u == "s") return 1.0;
  if (u == "ms") return 0.001;
  if (u == "m") return 60.0;
  if (u == "h") return 3600.0;
  if (u == "d") return 86400.0;
  return std::nullopt;
}

ValueError not_an_address(std::string_view text) {
  return {quoted(text) + " is not host:port", "write it as host:port, [ipv6]:port or :port"};
}

bool plain_host(std::string_view host) {
  return std::none_of(host.begin(), host.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '[' || c == ']' ||
           c == ':';
  });
}

}  // namespace

Parsed<bool> parse_bool(std::string_view text) {
  auto t = util::to_lower(util::trim(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return tl::unexpected(ValueError{quoted(text) + " is not a boolean", "use true or false"});
}

Parsed<Seconds> parse_duration(std::string_view text, bool zero_allowed) {
  auto t = util::trim(text);
  size_t n = number_prefix(t);
  auto scale = n == 0 ? std::nullopt : unit_seconds(util::trim(t.substr(n)));
  if (!scale) {
    return tl::unexpected(ValueError{quoted(text) + " is not a duration",
                                     "use seconds (10, 0.5) or a unit (500ms, 30s, 5m)"});
  }
  double number = 0;
  std::from_chars(t.data(), t.data() + n, number);
  if (number == 0 && !zero_allowed) {
    return tl::unexpected(ValueError{quoted(text) + " is not a positive duration",
                                     "use a duration above 0, such as 10 or 500ms"});
  }
  return Seconds(number * *scale);
}

Parsed<uint64_t> parse_count(std::string_view text, uint64_t min, uint64_t max) {
  auto t = util::trim(text);
  auto range = std::to_string(min) + " to " + std::to_string(max);
  if (!all_digits(t)) {
    return tl::unexpected(
        ValueError{quoted(text) + " is not a whole number", "use a whole number from " + range});
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || value < min || value > max) {
    return tl::unexpected(
        ValueError{std::string(t) + " is out of range", "use a number from " + range});
  }
  return value;
}

Parsed<HostPort> parse_address(std::string_view text) {
  auto t = util::trim(text);
  std::string_view host;
  std::string_view port;
  if (t.starts_with('[')) {
    auto close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return tl::unexpected(not_an_address(text));
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return tl::unexpected(not_an_address(text));
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos) return tl::unexpected(not_an_address(text));
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (!plain_host(host)) return tl::unexpected(not_an_address(text));
  }
  if (!all_digits(port)) return tl::unexpected(not_an_address(text));
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc() || number < 1 || number > 65535) {
    return tl::unexpected(
        ValueError{"port " + std::string(port) + " is out of range", "use a port from 1 to 65535"});
  }
  return HostPort{std::string(host), static_cast<uint16_t>(number)};
}

Parsed<std::string> parse_enum(std::string_view text, const std::vector<std::string>& allowed) {
  auto t = util::trim(text);
  for (const auto& a : allowed) {
    if (util::iequals(t, a)) return a;
  }
  // proxy_protocol=none reads naturally; so do the boolean spellings of "no".
  bool has_off = std::find(allowed.begin(), allowed.end(), "off") != allowed.end();
  auto lower = util::to_lower(t);
  if (has_off && (lower == "none" || lower == "false" || lower == "no")) return std::string("off");
  return tl::unexpected(ValueError{quoted(text) + " is not a valid value",
                                   "use one of " + util::join(allowed, ", ")});
}

Parsed<std::vector<std::string>> parse_list(std::string_view text, const KeyDoc& doc) {
  std::string separated(text);
  if (doc.comma_ok) std::replace(separated.begin(), separated.end(), ',', ';');
  auto items = util::split_list(separated, ';');
  if (!doc.allowed.empty()) {
    for (auto& item : items) {
      auto canonical = parse_enum(item, doc.allowed);
      if (!canonical) return tl::unexpected(canonical.error());
      item = *canonical;
    }
  }
  if (items.size() < doc.min) {
    auto fix = doc.allowed.empty() ? "list at least " + std::to_string(doc.min) + " item(s)"
                                   : "use one or more of " + util::join(doc.allowed, ", ");
    return tl::unexpected(ValueError{"is empty", fix});
  }
  return items;
}

Parsed<Value> parse_value(const KeyDoc& doc, std::string_view text) {
  text = util::trim(text);
  if (text.empty() && doc.type != ValueType::kSecret && doc.type != ValueType::kList) {
    return tl::unexpected(ValueError{"has no value", "give it a value or remove it"});
  }
  auto widen = [](auto parsed) -> Parsed<Value> {
    if (!parsed) return tl::unexpected(parsed.error());
    return Value(std::move(*parsed));
  };
  switch (doc.type) {
    case ValueType::kBool:
      return widen(parse_bool(text));
    case ValueType::kString:
      return Value(std::string(text));
    case ValueType::kPath:
      return Value(std::filesystem::path(text));
    case ValueType::kSecret:
      return Value(util::Secret(std::string(text)));
    case ValueType::kEnum:
      return widen(parse_enum(text, doc.allowed));
    case ValueType::kList:
      return widen(parse_list(text, doc));
    case ValueType::kDuration:
      return widen(parse_duration(text, doc.zero_allowed));
    case ValueType::kCount:
      return widen(parse_count(text, doc.min, doc.max));
    case ValueType::kAddress:
      return widen(parse_address(text));
  }
  return tl::unexpected(ValueError{"has an unknown type", ""});
}

}  // namespace tlsgate::config
