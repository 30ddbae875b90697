// Result<T>: the control path's error model (STYLE.md practice 10).
//
// Config, pki, reload and cluster code return Result<T> instead of throwing.
// An Error is a complete sentence for a person: it names the thing at fault
// (file, key, certificate, peer) and, where one exists, the fix. Callers add
// context with Error::prefixed() rather than wrapping in new types.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace tlsgate::util {

class Error {
 public:
  Error() = default;
  explicit Error(std::string message) : message_(std::move(message)) {}

  const std::string& message() const { return message_; }

  // "PREFIX: message" — for adding the file or key a lower layer did not know.
  Error prefixed(const std::string& prefix) const { return Error(prefix + ": " + message_); }

 private:
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Status is Result<void>: success carries nothing.
using Status = Result<void>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error(std::move(message)));
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace tlsgate::util
