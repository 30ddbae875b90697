// Secret: a string that never reaches a log (STYLE.md practice 11).
//
// Formatting a Secret with fmt or streaming it prints "<redacted>"; the value
// is reachable only through reveal(), which makes each use greppable. A
// Secret wipes its bytes when it is destroyed, overwritten or moved from, so
// a password does not linger in freed memory (copies the caller makes of
// reveal() are the caller's to wipe, with util::wipe()).
#pragma once

#include <string.h>

#include <ostream>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace tlsgate::util {

// Overwrites every byte `s` owns — its whole capacity, not only size(): a
// string that was longer once, or was moved from, keeps old bytes past its
// end — then empties it (the buffer stays). explicit_bzero: a memset the
// compiler may not drop as a dead store. For bytes that held a password.
inline void wipe(std::string& s) noexcept {
  ::explicit_bzero(s.data(), s.capacity());
  s.clear();
}

// The same for `n` bytes at `p` (a read buffer, a struct of key material).
inline void wipe(void* p, size_t n) noexcept { ::explicit_bzero(p, n); }

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

  static constexpr const char* kRedacted = "<redacted>";

 private:
  void wipe() noexcept { util::wipe(value_); }

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
