// HttpUrl: an http:// URL taken apart for one HTTP/1.1 exchange.
//
// The URLs tlsgate fetches from (an OCSP responder named by a certificate's
// AIA or by ssl.policy.<scope>.ocsp_responder; CRL distribution points
// later) are outside input: a certificate anyone may present names them. So
// parse_http_url() accepts a strict subset of RFC 3986, and says which rule a
// rejected URL breaks: http:// only (OCSP responses and CRLs are signed and
// need no TLS), no user information, no fragment, a host that is a DNS name,
// a dotted-quad IPv4 address or a bracketed IPv6 literal, a port in 1..65535,
// a path and query of the characters RFC 3986 allows with well-formed
// percent-escapes, at most kMaxHttpUrlLength bytes. Nothing a parsed URL
// holds can break a request line or a Host header: no space, CR, LF, NUL or
// byte outside printable ASCII. Pure functions, no resolver: config (key
// validation), pki (AIA) and net (net/http_client.h) share them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tlsgate::util {

inline constexpr size_t kMaxHttpUrlLength = 2048;

struct HttpUrl {
  std::string host;    // lowercase DNS name or IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;  // 1..65535; 80 when the URL names none
  std::string target;  // request-target: path and query, starts with "/"
  bool operator==(const HttpUrl&) const = default;
};

// The URL taken apart, or an error that quotes the input (escaped, cut at
// 200 bytes) and names the rule it breaks. An empty path becomes "/".
Result<HttpUrl> parse_http_url(std::string_view text);

// "http://host[:port]/target": IPv6 in brackets, the port only when not 80.
// parse_http_url(to_string(u)) == u for every parsed u.
std::string to_string(const HttpUrl& url);

// The Host header's value: "host[:port]", IPv6 in brackets, the port only when not 80.
std::string host_header(const HttpUrl& url);

}  // namespace tlsgate::util
