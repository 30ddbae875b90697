#include "util/http_url.h"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"

namespace tlsgate::util {

namespace {

constexpr size_t kMaxQuoted = 200;
constexpr size_t kMaxHostLength = 253;  // RFC 1035, without the trailing dot
constexpr size_t kMaxLabelLength = 63;

// The input in double quotes, escaped and cut: it may come from a hostile
// certificate and is about to enter a log line.
std::string quote_url_text(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxQuoted; ++i) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b == '"' || b == '\\') {
      out += '\\';
      out += text[i];
    } else if (b >= 0x20 && b < 0x7f) {
      out += text[i];
    } else {
      out += fmt::format("\\x{:02x}", b);
    }
  }
  if (text.size() > kMaxQuoted) out += "...";
  return out + "\"";
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// RFC 3986 pchar without '%' (checked apart), plus '/' and '?'.
bool is_target_char(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
}

// A reason the host is not a DNS name or dotted-quad IPv4 address, or "".
std::string host_problem(std::string_view host) {
  std::string_view name = host;
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);  // a rooted name
  if (name.size() > kMaxHostLength)
    return fmt::format("its host name is {} bytes long; DNS allows {}", name.size(),
                       kMaxHostLength);
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
      return fmt::format("its host has {}, which no host name holds",
                         quote_url_text(std::string(1, c)));
  }
  std::string_view last;
  size_t start = 0;
  while (start <= name.size()) {  // one pass per label
    size_t dot = std::min(name.find('.', start), name.size());
    std::string_view label = name.substr(start, dot - start);
    if (label.empty())
      return "its host has an empty label (two dots in a row, or one at the start)";
    if (label.size() > kMaxLabelLength)
      return fmt::format("its host has a label of {} bytes; DNS allows {}", label.size(),
                         kMaxLabelLength);
    last = label;
    start = dot + 1;
  }
  // A name whose last label is a number is an IPv4 address or nothing: the
  // resolver would read "127.1" or "0x7f.1" as an address nobody wrote.
  if (std::all_of(last.begin(), last.end(), is_digit)) {
    in_addr a{};
    if (::inet_pton(AF_INET, std::string(host).c_str(), &a) != 1)
      return "its host is not a valid IPv4 address (four decimal numbers 0-255, like 192.0.2.7)";
  }
  return "";
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(fmt::format("{} is not a usable http:// URL: {}", quote_url_text(text), why));
  };
  if (text.empty()) return bad("it is empty");
  if (text.size() > kMaxHttpUrlLength)
    return bad(fmt::format("it is {} bytes long; the limit is {}", text.size(), kMaxHttpUrlLength));
  for (size_t i = 0; i < text.size(); ++i) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b <= 0x20 || b >= 0x7f)
      return bad(
          fmt::format("byte {} is {}; spaces, control characters and non-ASCII bytes "
                      "must be percent-encoded",
                      i, quote_url_text(text.substr(i, 1))));
  }

  size_t colon = text.find("://");
  std::string scheme = to_lower(text.substr(0, colon == std::string_view::npos ? 0 : colon));
  if (colon == std::string_view::npos || scheme.empty() ||
      !std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
      }))
    return bad("it has no scheme; write it as http://HOST[:PORT]/PATH");
  if (scheme == "https")
    return bad(
        "only plain http:// responders are supported: OCSP responses and CRLs are signed, so "
        "they need no TLS (RFC 6960 appendix A, RFC 5280 4.2.1.13); use the responder's http:// "
        "URL");
  if (scheme != "http")
    return bad(
        fmt::format("the scheme {} is not supported; only http:// is", quote_url_text(scheme)));

  std::string_view rest = text.substr(colon + 3);
  if (rest.find('#') != std::string_view::npos)
    return bad("it has a fragment (#...), which no request carries; remove it");
  size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return bad("it has user information (user@host), which is not supported; remove it");

  HttpUrl url;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("its IPv6 address has no closing ']'");
    std::string literal(authority.substr(1, close - 1));
    in6_addr a{};
    if (::inet_pton(AF_INET6, literal.c_str(), &a) != 1)
      return bad(fmt::format("{} is not an IPv6 address (zone ids like %eth0 are not supported)",
                             quote_url_text(literal)));
    url.host = to_lower(literal);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return bad("the IPv6 address in brackets is followed by something other than :PORT");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else {
    size_t port_colon = authority.find(':');
    if (port_colon != std::string_view::npos &&
        authority.find(':', port_colon + 1) != std::string_view::npos)
      return bad("an IPv6 address must be written in brackets, like http://[2001:db8::1]:80/");
    has_port = port_colon != std::string_view::npos;
    std::string_view host = authority.substr(0, has_port ? port_colon : authority.size());
    if (has_port) port = authority.substr(port_colon + 1);
    if (host.empty()) return bad("it has no host");
    if (auto why = host_problem(host); !why.empty()) return bad(why);
    url.host = to_lower(host);
  }

  if (has_port && !port.empty()) {  // "host:" is the default port (RFC 3986 3.2.3)
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
      return bad(fmt::format("its port {} is not a number from 1 to 65535", quote_url_text(port)));
    unsigned value = 0;
    for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value == 0 || value > 65535)
      return bad(fmt::format("its port {} is not a number from 1 to 65535", quote_url_text(port)));
    url.port = static_cast<uint16_t>(value);
  }

  for (size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2]))
        return bad("its path has a '%' that is not followed by two hex digits");
      i += 2;
    } else if (!is_target_char(c)) {
      return bad(fmt::format("its path has {}, which must be percent-encoded (%{:02X})",
                             quote_url_text(target.substr(i, 1)), static_cast<unsigned char>(c)));
    }
  }
  url.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return url;
}

std::string host_header(const HttpUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return url.port == 80 ? host : host + ":" + std::to_string(url.port);
}

std::string to_string(const HttpUrl& url) { return "http://" + host_header(url) + url.target; }

}  // namespace tlsgate::util
