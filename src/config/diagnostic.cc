#include "config/diagnostic.h"

#include <algorithm>
#include <cstdio>

namespace tlsgate::config {
namespace {

// Past this many bytes a field is cut: a 2 MB value echoed whole is no help.
constexpr size_t kMaxField = 1000;

// Keys and values are quoted from the file: a control byte in them (an ESC,
// a CR, a NUL that would end the message where C strings end) is shown as
// \xNN, so that a line of the config cannot drive the terminal or forge a
// line of the report. UTF-8 is kept.
std::string printable(const std::string& s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxField));
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= kMaxField) {
      out += "... (" + std::to_string(s.size() - i) + " more bytes)";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string format(const Diagnostic& d) {
  std::string out = printable(d.where.file);
  if (d.where.line > 0) out += ":" + std::to_string(d.where.line);
  if (!d.key.empty()) out += ": " + printable(d.key);
  out += ": " + printable(d.problem);
  if (!d.fix.empty()) out += "; " + printable(d.fix);
  return out;
}

}  // namespace tlsgate::config
