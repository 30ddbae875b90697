#include "util/peer_text.h"

#include <fmt/format.h>

namespace tlsgate::util {

std::string escape_peer_text(std::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
      out += text[i];
    } else {
      out += fmt::format("\\x{:02x}", b);
    }
  }
  return text.size() > max ? out + "..." : out;
}

std::string quoted_peer_text(std::string_view text) {
  constexpr size_t kQuotedPeerTextCut = 300;
  return "\"" + escape_peer_text(text, kQuotedPeerTextCut) + "\"";
}

}  // namespace tlsgate::util
