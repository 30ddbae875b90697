// Subject alternative names from command-line NAMEs (`tlsgate cert issue`).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace tlsgate::pki {

// Kinds of subject alternative name, classified from a command-line NAME:
// an IPv4/IPv6 literal is an IP, "user@host" an email (an RFC 5322 dot-atom
// local part, ASCII; "mailto:user@host" is refused with the address to give),
// "scheme://..." a URI, anything else a DNS name. A left-most "*." wildcard is
// allowed with two labels or more after it: "*.com" and "*.localhost" are
// refused, since TLS clients (OpenSSL's X509_check_host, browsers) never
// match them; "*.co.uk" passes (tlsgate carries no public-suffix list).
struct SubjectNames {
  std::vector<std::string> dns, ip, email, uri;
};
util::Result<SubjectNames> classify_names(const std::vector<std::string>& names);

}  // namespace tlsgate::pki
