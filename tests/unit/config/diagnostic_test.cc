#include "config/diagnostic.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

using Severity = Diagnostic::Severity;

struct FormatCase {
  Diagnostic d;
  std::string text;
};

TEST(ConfigDiagnostic, FormatOmitsEmptyParts) {
  const FormatCase cases[] = {
      {{Severity::kError,
        {"tlsgate.conf", 14},
        "ssl.policy.bolt.ciphers",
        "OpenSSL rejects \"BOGUS-SHA\"",
        "use IANA or OpenSSL suite names"},
       "tlsgate.conf:14: ssl.policy.bolt.ciphers: OpenSSL rejects \"BOGUS-SHA\"; use IANA or "
       "OpenSSL suite names"},
      {{Severity::kError,
        {"tlsgate.conf", 0},
        "connector.pg.listen_address",
        "is required",
        "set connector.pg.listen_address=host:port"},
       "tlsgate.conf: connector.pg.listen_address: is required; set "
       "connector.pg.listen_address=host:port"},
      {{Severity::kError,
        {"tlsgate.conf", 3},
        "",
        "line has no '='",
        "write key=value, or start a comment with #"},
       "tlsgate.conf:3: line has no '='; write key=value, or start a comment with #"},
      {{Severity::kWarning, {"environment TLSGATE_x", 0}, "x", "odd", ""},
       "environment TLSGATE_x: x: odd"},
  };
  for (const auto& c : cases) EXPECT_EQ(format(c.d), c.text);
}

// What the file holds is quoted with its controls and bidirectional
// overrides as bytes: a config line cannot forge a report line or reverse it.
TEST(ConfigDiagnostic, FormatShowsControlsAndBidiOverridesAsBytes) {
  Diagnostic d{Severity::kError,
               {"tlsgate.conf", 2},
               "ssl.policy.a\xe2\x80\xae"
               "b.enabled",
               "\"O=\xc3\x9cn\xc3\xaf"
               "code\nFORGED\"",
               ""};
  EXPECT_EQ(format(d),
            "tlsgate.conf:2: ssl.policy.a\\xe2\\x80\\xaeb.enabled: \"O=\xc3\x9cn\xc3\xaf"
            "code\\nFORGED\"");
  d.problem = std::string(1500, 'x');
  EXPECT_EQ(format(d).substr(format(d).size() - 40), std::string(20, 'x') + "... (500 more bytes)");
}

}  // namespace
}  // namespace tlsgate::config
