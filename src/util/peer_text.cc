#include "util/peer_text.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace tlsgate::util {
namespace {

// The code point of the UTF-8 sequence at text[i] and its length; length 0
// when the bytes there are not UTF-8 (a stray continuation byte, an overlong
// form, a surrogate, past U+10FFFF, a sequence cut short).
std::pair<char32_t, size_t> decode_utf8(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = lead < 0x80             ? 1
                  : (lead & 0xe0) == 0xc0 ? 2
                  : (lead & 0xf0) == 0xe0 ? 3
                  : (lead & 0xf8) == 0xf0 ? 4
                                          : 0;
  if (length == 0 || i + length > text.size()) return {0, 0};
  char32_t cp = length == 1 ? lead : lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return {0, 0};
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kLeast[length] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return {0, 0};
  return {cp, length};
}

// Characters that end a line, drive a terminal, or reorder or hide text.
bool misleading(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
         (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

}  // namespace

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

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto [cp, length] = decode_utf8(text, i);
    if (length > 0 && !misleading(cp)) {
      out.append(text.substr(i, length));
    } else if (cp == '\n' || cp == '\r' || cp == '\t') {
      out += cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : "\\t";
    } else {
      for (size_t k = 0; k < std::max<size_t>(length, 1); ++k) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + k]));
      }
    }
    i += std::max<size_t>(length, 1);
  }
  return out;
}

}  // namespace tlsgate::util
