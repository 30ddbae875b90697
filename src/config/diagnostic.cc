#include "config/diagnostic.h"

#include <string_view>

#include "util/peer_text.h"

namespace tlsgate::config {
namespace {

// Past this many bytes a field is cut: a 2 MB value echoed whole is no help.
constexpr size_t kMaxField = 1000;

// Keys and values are quoted from the file: a control character in them (an
// ESC, a CR, a NUL that would end the message where C strings end) or a
// bidirectional override is shown as its bytes, so that a line of the config
// cannot drive the terminal, forge a line of the report or read otherwise
// than it is. Other UTF-8 is kept.
std::string printable(const std::string& s) {
  if (s.size() <= kMaxField) return util::escape_controls(s);
  return util::escape_controls(std::string_view(s).substr(0, kMaxField)) + "... (" +
         std::to_string(s.size() - kMaxField) + " more bytes)";
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
