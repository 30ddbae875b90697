#include "pki/openssl_error.h"

#include <openssl/err.h>

namespace tlsgate::pki {

std::string drain_openssl_errors() {
  std::string out;
  std::string last;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    std::string entry;
    if (const char* reason = ERR_reason_error_string(code)) {
      entry = reason;
    } else {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      entry = buf;
    }
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      entry += std::string(" (") + data + ")";
    }
    // Providers often queue the same reason twice on the way up.
    if (entry == last) continue;
    if (!out.empty()) out += "; ";
    out += entry;
    last = entry;
  }
  return out;
}

void clear_openssl_errors() { ERR_clear_error(); }

util::Error openssl_error(const std::string& what) {
  std::string reasons = drain_openssl_errors();
  return util::Error(reasons.empty() ? what : what + ": " + reasons);
}

}  // namespace tlsgate::pki
