#include "util/env.h"

#include <cstdlib>

namespace tlsgate::util {

std::string take_env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): before any thread
  std::string value = v == nullptr ? "" : v;
  ::unsetenv(name);  // NOLINT(concurrency-mt-unsafe)
  return value;
}

}  // namespace tlsgate::util
