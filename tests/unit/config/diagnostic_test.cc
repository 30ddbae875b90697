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

}  // namespace
}  // namespace tlsgate::config
