#include "config/diagnostic.h"

namespace tlsgate::config {

std::string format(const Diagnostic& d) {
  std::string out = d.where.file;
  if (d.where.line > 0) out += ":" + std::to_string(d.where.line);
  if (!d.key.empty()) out += ": " + d.key;
  out += ": " + d.problem;
  if (!d.fix.empty()) out += "; " + d.fix;
  return out;
}

}  // namespace tlsgate::config
