// Secret: a string that never reaches a log (STYLE.md practice 11).
//
// Formatting a Secret with fmt or streaming it prints "<redacted>"; the value
// is reachable only through reveal(), which makes each use greppable.
#pragma once

#include <ostream>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace tlsgate::util {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

  static constexpr const char* kRedacted = "<redacted>";

 private:
  std::string value_;
};

inline std::ostream& operator<<(std::ostream& os, const Secret&) { return os << Secret::kRedacted; }

}  // namespace tlsgate::util

template <>
struct fmt::formatter<tlsgate::util::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const tlsgate::util::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(tlsgate::util::Secret::kRedacted, ctx);
  }
};
