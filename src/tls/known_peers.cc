#include "tls/known_peers.h"

#include <openssl/x509v3.h>

#include "pki/certificate_info.h"
#include "pki/handles.h"
#include "tls/server_name.h"
#include "util/clock.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

// A DNS label: not empty, and no wildcard in it (only a whole left-most
// label may be `*`).
bool plain_labels(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return name.find('*') == std::string_view::npos;
}

// `*.rest` against name: the first label of name is any one label, the
// rest must be equal.
bool wildcard_matches(std::string_view wildcard, std::string_view name) {
  std::string_view rest = wildcard.substr(1);  // ".rest"
  if (!plain_labels(rest.substr(1))) return false;
  auto dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  if (!plain_labels(name)) return false;
  return util::iequals(name.substr(dot), rest);
}

struct Url {
  std::string text;  // as written
  std::string host;  // without brackets and port
};

// "nats://node-b:6222/x" -> host "node-b"; nullopt when entry is no URL.
std::optional<Url> parse_url(std::string_view entry) {
  auto scheme = entry.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return std::nullopt;
  std::string_view rest = entry.substr(scheme + 3);
  if (auto end = rest.find_first_of("/?#"); end != std::string_view::npos)
    rest = rest.substr(0, end);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string_view host = rest;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = close == std::string_view::npos ? std::string_view() : host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return Url{std::string(entry), std::string(host)};
}

// The SANs of one type, as text (DNS names and URIs are IA5 strings).
std::vector<std::string> san_texts(const X509* cert, int type) {
  std::vector<std::string> out;
  pki::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(const_cast<X509*>(cert), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    if (gen->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_DNS ? gen->d.dNSName : gen->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

// A host (a DNS name, maybe `*.rest`, or an IP literal) against the SANs.
bool host_matches(const X509* cert, const std::string& host, const std::vector<std::string>& dns) {
  if (host.empty()) return false;
  if (is_ip_literal(host)) {  // IP SANs only: X509_check_ip_asc never reads the CN
    return X509_check_ip_asc(const_cast<X509*>(cert), host.c_str(), 0) == 1;
  }
  for (const auto& name : dns) {
    if (dns_name_matches(host, name)) return true;
  }
  return false;
}

}  // namespace

bool dns_name_matches(std::string_view pattern, std::string_view name) {
  if (pattern.empty() || name.empty()) return false;
  const bool pattern_wild = pattern.starts_with("*.");
  const bool name_wild = name.starts_with("*.");
  if (pattern_wild && name_wild) {  // the same wildcard, written twice
    return plain_labels(pattern.substr(2)) && util::iequals(pattern, name);
  }
  if (pattern_wild) return wildcard_matches(pattern, name);
  if (name_wild) return plain_labels(pattern) && wildcard_matches(name, pattern);
  return plain_labels(pattern) && util::iequals(pattern, name);
}

bool peer_is_known(const X509* cert, const std::vector<std::string>& known_peers) {
  if (cert == nullptr) return false;
  const auto dns = san_texts(cert, GEN_DNS);
  std::vector<std::string> uris;
  bool uris_read = false;
  for (const auto& entry : known_peers) {
    if (auto url = parse_url(entry)) {
      if (!uris_read) {
        uris = san_texts(cert, GEN_URI);
        uris_read = true;
      }
      for (const auto& uri : uris) {
        if (util::iequals(uri, url->text)) return true;
      }
      if (host_matches(cert, url->host, dns)) return true;
    } else if (host_matches(cert, entry, dns)) {
      return true;
    }
  }
  return false;
}

std::string presented_names(const X509* cert) {
  auto info = pki::describe(cert, util::SystemClock::instance());
  std::vector<std::string> names;
  for (const auto& n : info.san_dns) names.push_back(pki::san_text("DNS:", n));
  for (const auto& n : info.san_uri) names.push_back(pki::san_text("URI:", n));
  for (const auto& n : info.san_ip) names.push_back(pki::san_text("IP:", n));
  for (const auto& n : info.san_email) names.push_back(pki::san_text("email:", n));
  return names.empty() ? "no subjectAltName" : util::join(names, ", ");
}

std::string explain_unknown_peer(const X509* cert, const config::Policy& policy, bool server_side,
                                 const std::string& peer) {
  const std::string key = "ssl.policy." + policy.scope + ".known_peers";
  std::string what = server_side ? "client certificate" : "backend certificate";
  if (cert != nullptr) {
    auto info = pki::describe(cert, util::SystemClock::instance());
    what += " " + info.subject + " (serial " + info.serial_hex + ")";
  }
  return what + " from " + peer + " presents " +
         (cert ? presented_names(cert) : std::string("no certificate")) + ", none of which " + key +
         " lists (" + util::join(policy.known_peers, "; ") +
         "); the subject CN is not used. Add the peer's name or URL to " + key +
         ", or reissue its certificate with a name the list has";
}

}  // namespace tlsgate::tls
