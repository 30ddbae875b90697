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

bool is_email(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : s.substr(0, at)) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return is_dns_name(s.substr(at + 1)) && !s.substr(at + 1).starts_with("*.");
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
      if (!is_email(name)) {
        return util::fail("\"" + name +
                          "\" is not a valid email address; write it as user@example.com");
      }
      out.email.push_back(name);
    } else if (is_ipv4(name) || is_ipv6(name)) {
      out.ip.push_back(name);
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
