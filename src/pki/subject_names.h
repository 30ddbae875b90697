// Subject alternative names from command-line NAMEs (`tlsgate cert issue`).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace tlsgate::pki {

// Kinds of subject alternative name, classified from a command-line NAME:
// an IPv4/IPv6 literal is an IP, "user@host" an email, "scheme://..." a URI,
// anything else a DNS name (a left-most "*." wildcard is allowed).
struct SubjectNames {
  std::vector<std::string> dns, ip, email, uri;
};
util::Result<SubjectNames> classify_names(const std::vector<std::string>& names);

}  // namespace tlsgate::pki
