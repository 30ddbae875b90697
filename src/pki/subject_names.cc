#include "pki/subject_names.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "pki/handles.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

bool is_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 3) return false;
    if (std::stoi(std::string(s.substr(i, j - i))) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

bool is_ipv6(const std::string& s) {
  if (s.find(':') == std::string::npos) return false;
  Asn1OctetStringPtr ip(a2i_IPADDRESS(s.c_str()));
  return ip && ASN1_STRING_length(ip.get()) == 16;
}

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
    return false;
  for (char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name.starts_with("*.")) name.remove_prefix(2);  // left-most wildcard only
  // An all-numeric last label is a mistyped IP address, not a host name (RFC 3696 2).
  std::string_view last =
      name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
  if (!last.empty() && std::all_of(last.begin(), last.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return false;
  }
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    if (!is_label(name.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_uri(std::string_view s) {
  size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep + 3 == s.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s.substr(0, sep)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return false;
  }
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// RFC 5322 3.2.3 dot-atom: atext runs joined by single dots. An rfc822Name SAN is ASCII
// (RFC 5280 4.2.1.6); quoted local parts are not taken, and neither is a "mailto:" prefix.
bool is_local_part(std::string_view s) {
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return c == '.' || kSpecials.find(c) != std::string_view::npos ||
           (static_cast<unsigned char>(c) < 0x80 && std::isalnum(static_cast<unsigned char>(c)));
  });
}

bool is_email(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos) return false;
  return is_local_part(s.substr(0, at)) && is_dns_name(s.substr(at + 1)) &&
         !s.substr(at + 1).starts_with("*.");
}

// "*.com", "*.localhost": a wildcard over a single label. RFC 6125 6.4.3 leaves such patterns
// to the client, and clients refuse them: OpenSSL's X509_check_host needs two labels after
// the "*", browsers refuse wildcards over a public suffix. A certificate for one would match
// nothing it seems to promise.
bool is_single_label_wildcard(std::string_view name) {
  return name.starts_with("*.") && name.find('.', 2) == std::string_view::npos;
}

}  // namespace

util::Result<SubjectNames> classify_names(const std::vector<std::string>& names) {
  SubjectNames out;
  for (const auto& raw : names) {
    std::string name(util::trim(raw));
    if (name.find("://") != std::string::npos) {
      if (!is_uri(name)) {
        return util::fail("\"" + name +
                          "\" is not a valid URI; write it as scheme://rest, e.g. "
                          "spiffe://cluster/node1");
      }
      out.uri.push_back(name);
    } else if (name.find('@') != std::string::npos) {
      if (util::starts_with_nocase(name, "mailto:") && is_email(name.substr(7))) {
        return util::fail("\"" + name + "\" is a mailto: URI; for an email name give the address " +
                          "alone: " + name.substr(7));
      }
      if (!is_email(name)) {
        return util::fail("\"" + name +
                          "\" is not a valid email address; write it as user@example.com");
      }
      out.email.push_back(name);
    } else if (is_ipv4(name) || is_ipv6(name)) {
      out.ip.push_back(name);
    } else if (is_dns_name(name) && is_single_label_wildcard(name)) {
      return util::fail("\"" + name + "\": a wildcard needs two labels or more after \"*.\", " +
                        "as in *.example.com (TLS clients match *.com, *.localhost and the like " +
                        "to nothing); list the names themselves instead");
    } else if (is_dns_name(name)) {
      out.dns.push_back(name);
    } else {
      return util::fail("\"" + name +
                        "\" is not a valid DNS name, IP address, email address or URI; "
                        "use e.g. db1.example.com, *.example.com, 10.0.0.1, ::1, "
                        "admin@example.com or spiffe://cluster/node1");
    }
  }
  return out;
}

}  // namespace tlsgate::pki
