// parse_http_url: the URLs responders are named by, good and hostile. Every
// rejection is asserted word for word where the wording is the point, so a
// person reading the log learns which rule the URL broke.
#include "util/http_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

HttpUrl ok(std::string_view text) {
  auto url = parse_http_url(text);
  EXPECT_TRUE(url) << text << ": " << (url ? "" : url.error().message());
  return url ? *url : HttpUrl{};
}

std::string error_of(std::string_view text) {
  auto url = parse_http_url(text);
  EXPECT_FALSE(url) << text << " parsed as " << (url ? to_string(*url) : "");
  return url ? "" : url.error().message();
}

TEST(HttpUrl, HostPortAndTarget) {
  EXPECT_EQ(ok("http://ocsp.example.com/"), (HttpUrl{"ocsp.example.com", 80, "/"}));
  EXPECT_EQ(ok("http://ocsp.example.com:8080/a/b?x=1&y=%2F"),
            (HttpUrl{"ocsp.example.com", 8080, "/a/b?x=1&y=%2F"}));
  EXPECT_EQ(ok("http://127.0.0.1:2560/ocsp"), (HttpUrl{"127.0.0.1", 2560, "/ocsp"}));
  EXPECT_EQ(ok("http://ca_1.internal./crl"), (HttpUrl{"ca_1.internal.", 80, "/crl"}));
}

TEST(HttpUrl, EmptyPathIsSlashAndEmptyPortIsEighty) {
  EXPECT_EQ(ok("http://ocsp.example.com"), (HttpUrl{"ocsp.example.com", 80, "/"}));
  EXPECT_EQ(ok("http://ocsp.example.com?q"), (HttpUrl{"ocsp.example.com", 80, "/?q"}));
  EXPECT_EQ(ok("http://ocsp.example.com:/x"), (HttpUrl{"ocsp.example.com", 80, "/x"}));
}

TEST(HttpUrl, SchemeAndHostAreCaseInsensitive) {
  EXPECT_EQ(ok("HTTP://OCSP.Example.COM/Path"), (HttpUrl{"ocsp.example.com", 80, "/Path"}));
}

TEST(HttpUrl, Ipv6LiteralsInBrackets) {
  EXPECT_EQ(ok("http://[::1]:8888/ocsp"), (HttpUrl{"::1", 8888, "/ocsp"}));
  EXPECT_EQ(ok("http://[2001:DB8::7]"), (HttpUrl{"2001:db8::7", 80, "/"}));
  EXPECT_EQ(ok("http://[::ffff:192.0.2.1]:81/"), (HttpUrl{"::ffff:192.0.2.1", 81, "/"}));
}

TEST(HttpUrl, ToStringAndHostHeaderRoundTrip) {
  for (std::string_view text : {"http://[::1]:8888/ocsp", "http://ocsp.example.com/",
                                "http://127.0.0.1:2560/a?b=c", "http://[2001:db8::7]/"}) {
    auto url = ok(text);
    EXPECT_EQ(to_string(url), text);
    EXPECT_EQ(ok(to_string(url)), url);
  }
  EXPECT_EQ(host_header(ok("http://[::1]:8888/")), "[::1]:8888");
  EXPECT_EQ(host_header(ok("http://[::1]/")), "[::1]");
  EXPECT_EQ(host_header(ok("http://h.example:80/")), "h.example");
  EXPECT_EQ(host_header(ok("http://h.example:81/")), "h.example:81");
}

TEST(HttpUrl, HttpsIsRefusedWithTheReason) {
  EXPECT_EQ(error_of("https://ocsp.example.com/"),
            "\"https://ocsp.example.com/\" is not a usable http:// URL: only plain http:// "
            "responders are supported: OCSP responses and CRLs are signed, so they need no TLS "
            "(RFC 6960 appendix A, RFC 5280 4.2.1.13); use the responder's http:// URL");
  EXPECT_THAT(error_of("HTTPS://ocsp.example.com/"), HasSubstr("only plain http://"));
}

TEST(HttpUrl, OtherSchemesAndNoScheme) {
  EXPECT_EQ(error_of("ldap://ldap.example.com/cn=CA"),
            "\"ldap://ldap.example.com/cn=CA\" is not a usable http:// URL: the scheme \"ldap\" "
            "is not supported; only http:// is");
  EXPECT_EQ(error_of("ocsp.example.com/x"),
            "\"ocsp.example.com/x\" is not a usable http:// URL: it has no scheme; write it as "
            "http://HOST[:PORT]/PATH");
  EXPECT_THAT(error_of("://h/"), HasSubstr("it has no scheme"));
  EXPECT_THAT(error_of("ht%tp://h/"), HasSubstr("it has no scheme"));
  EXPECT_THAT(error_of(""), HasSubstr("it is empty"));
}

TEST(HttpUrl, MissingHost) {
  EXPECT_THAT(error_of("http://"), HasSubstr(": it has no host"));
  EXPECT_THAT(error_of("http:///ocsp"), HasSubstr(": it has no host"));
  EXPECT_THAT(error_of("http://:80/"), HasSubstr(": it has no host"));
}

TEST(HttpUrl, RequestLineInjectionIsImpossible) {
  // CR LF, space, NUL, TAB, DEL and non-ASCII anywhere: refused, escaped in the message.
  EXPECT_EQ(error_of("http://h/a\r\nHost: evil"),
            "\"http://h/a\\x0d\\x0aHost: evil\" is not a usable http:// URL: byte 10 is "
            "\"\\x0d\"; spaces, control characters and non-ASCII bytes must be percent-encoded");
  EXPECT_THAT(error_of("http://h/a b"), HasSubstr("byte 10 is \" \""));
  EXPECT_THAT(error_of(std::string_view("http://h/\0x", 11)), HasSubstr("byte 9 is \"\\x00\""));
  EXPECT_THAT(error_of("http://h/\t"), HasSubstr("\"\\x09\""));
  EXPECT_THAT(error_of("http://h/\x7f"), HasSubstr("\"\\x7f\""));
  EXPECT_THAT(error_of("http://b\xc3\xbc"
                       "cher.example/"),
              HasSubstr("byte 8 is \"\\xc3\""));
}

TEST(HttpUrl, UserInformationAndFragmentsAreRefused) {
  EXPECT_THAT(error_of("http://good.example@evil.example/"),
              HasSubstr("it has user information (user@host), which is not supported"));
  EXPECT_THAT(error_of("http://user:pw@h/"), HasSubstr("user information"));
  EXPECT_THAT(error_of("http://h/ocsp#frag"), HasSubstr("it has a fragment (#...)"));
}

TEST(HttpUrl, Ports) {
  EXPECT_EQ(ok("http://h.example:65535/").port, 65535);
  EXPECT_EQ(ok("http://h.example:1/").port, 1);
  EXPECT_EQ(ok("http://h.example:00080/").port, 80);
  for (std::string_view bad :
       {"http://h.example:0/", "http://h.example:65536/", "http://h.example:99999999999999999999/",
        "http://h.example:8o/", "http://h.example:-1/", "http://h.example:+80/"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("is not a number from 1 to 65535")) << bad;
  }
  EXPECT_EQ(error_of("http://h.example:65536/"),
            "\"http://h.example:65536/\" is not a usable http:// URL: its port \"65536\" is not a "
            "number from 1 to 65535");
}

TEST(HttpUrl, BadIpv6Literals) {
  EXPECT_THAT(error_of("http://::1/"), HasSubstr("an IPv6 address must be written in brackets"));
  EXPECT_THAT(error_of("http://[::1/"), HasSubstr("its IPv6 address has no closing ']'"));
  EXPECT_THAT(error_of("http://[::1]x/"), HasSubstr("followed by something other than :PORT"));
  EXPECT_THAT(error_of("http://[fe80::1%25eth0]/"),
              HasSubstr("\"fe80::1%25eth0\" is not an IPv6 address (zone ids"));
  EXPECT_THAT(error_of("http://[v1.fe]/"), HasSubstr("is not an IPv6 address"));
  EXPECT_THAT(error_of("http://[192.0.2.1]/"), HasSubstr("is not an IPv6 address"));
  EXPECT_THAT(error_of("http://[]/"), HasSubstr("is not an IPv6 address"));
  EXPECT_THAT(error_of("http://[::1]:0/"), HasSubstr("is not a number from 1 to 65535"));
}

TEST(HttpUrl, BadHostNames) {
  EXPECT_THAT(error_of("http://a..b/"), HasSubstr("its host has an empty label"));
  EXPECT_THAT(error_of("http://.a/"), HasSubstr("its host has an empty label"));
  EXPECT_THAT(error_of("http://./"), HasSubstr("its host has an empty label"));
  EXPECT_THAT(error_of("http://" + std::string(64, 'a') + ".example/"),
              HasSubstr("its host has a label of 64 bytes; DNS allows 63"));
  std::string long_name;
  while (long_name.size() < 260) long_name += "abcdefghi.";
  EXPECT_THAT(error_of("http://" + long_name + "x/"), HasSubstr("DNS allows 253"));
  EXPECT_EQ(error_of("http://h\\evil.example/"),
            "\"http://h\\\\evil.example/\" is not a usable http:// URL: its host has \"\\\\\", "
            "which no host name holds");
  EXPECT_THAT(error_of("http://h%2e/"), HasSubstr("its host has \"%\""));
  EXPECT_THAT(error_of("http://h!/"), HasSubstr("which no host name holds"));
}

TEST(HttpUrl, NumericHostsAreDottedQuadsOrNothing) {
  // What inet_aton would read as an address nobody wrote.
  for (std::string_view bad :
       {"http://127.1/", "http://0x7f.0.0.1/", "http://2130706433/", "http://256.0.0.1/",
        "http://1.2.3.4.5/", "http://1.2.3.04/", "http://example.123/"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("its host is not a valid IPv4 address")) << bad;
  }
  EXPECT_EQ(ok("http://192.0.2.255/").host, "192.0.2.255");
  EXPECT_EQ(ok("http://123.example/").host, "123.example");
}

TEST(HttpUrl, TargetCharactersAndEscapes) {
  EXPECT_EQ(ok("http://h.example/a-b_c.d~e!$&'()*+,;=:@/?x=%7e").target,
            "/a-b_c.d~e!$&'()*+,;=:@/?x=%7e");
  EXPECT_EQ(error_of("http://h.example/<script>"),
            "\"http://h.example/<script>\" is not a usable http:// URL: its path has \"<\", which "
            "must be percent-encoded (%3C)");
  for (std::string_view bad : {"http://h.example/\"", "http://h.example/{x}", "http://h.example/|",
                               "http://h.example/\\", "http://h.example/^", "http://h.example/`"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("which must be percent-encoded")) << bad;
  }
  for (std::string_view bad : {"http://h.example/%", "http://h.example/%4", "http://h.example/%zz",
                               "http://h.example/%4g"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("a '%' that is not followed by two hex digits")) << bad;
  }
}

TEST(HttpUrl, LongInputsAreRefusedAndQuotedShort) {
  std::string url = "http://h.example/" + std::string(kMaxHttpUrlLength, 'a');
  auto message = error_of(url);
  EXPECT_THAT(message, HasSubstr("it is 2065 bytes long; the limit is 2048"));
  EXPECT_THAT(message, StartsWith("\"http://h.example/aaa"));
  EXPECT_LT(message.size(), 300u);  // quoted input cut at 200 bytes
  EXPECT_THAT(message, HasSubstr("aaa...\" is not"));
  EXPECT_TRUE(parse_http_url("http://h.example/" +
                             std::string(kMaxHttpUrlLength - 17, 'a')));  // exactly the limit
}

}  // namespace
}  // namespace tlsgate::util
