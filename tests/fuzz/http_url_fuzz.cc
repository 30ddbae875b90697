// util::parse_http_url on arbitrary bytes. An accepted URL holds nothing that
// could break a request line or a Host header (printable ASCII, no space),
// has a host, a port in 1..65535 and a target from "/", and comes back
// unchanged through to_string(). A refusal is one printable line: the input
// it quotes is escaped, so a hostile certificate cannot forge log lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "util/http_url.h"

namespace {

bool printable(std::string_view s) {
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto url = tlsgate::util::parse_http_url(text);
  if (!url) {
    const std::string& message = url.error().message();
    FUZZ_CHECK(!message.empty() && printable(message));
    FUZZ_CHECK(message.size() < 1200);  // the input is quoted cut, whatever its length
    return 0;
  }
  FUZZ_CHECK(size <= tlsgate::util::kMaxHttpUrlLength);
  FUZZ_CHECK(!url->host.empty() && url->port != 0);
  FUZZ_CHECK(!url->target.empty() && url->target.front() == '/');
  FUZZ_CHECK(printable(url->host) && printable(url->target));
  FUZZ_CHECK(url->host.find_first_of(" /?#@[]") == std::string::npos);
  FUZZ_CHECK(url->target.find_first_of(" #\"<>\\") == std::string::npos);
  auto again = tlsgate::util::parse_http_url(tlsgate::util::to_string(*url));
  FUZZ_CHECK(again && *again == *url);
  return 0;
}
