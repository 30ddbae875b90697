// pki/revocation_index.h: the CA folder's revocations.txt and CRL number.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/revocation_index.h"

namespace tlsgate::pki {
namespace {

using std::chrono::sys_days;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const util::SystemTime kWhen = sys_days(std::chrono::year(2026) / 12 / 6) + 8h + 30min + 5s;

TEST(PkiRevocationIndex, Rfc3339RoundTrip) {
  EXPECT_EQ(format_rfc3339(kWhen), "2026-12-06T08:30:05Z");
  EXPECT_EQ(parse_rfc3339("2026-12-06T08:30:05Z"), kWhen);
  // Fractions are cut, not rounded.
  EXPECT_EQ(format_rfc3339(kWhen + 999ms), "2026-12-06T08:30:05Z");
  for (const char* bad :
       {"2026-12-06 08:30:05Z", "2026-12-06T08:30:05+01:00", "2026-02-30T00:00:00Z",
        "2026-12-06T24:00:00Z", "2026-12-06T08:30:05", "x026-12-06T08:30:05Z",
        // Past what a 64-bit nanosecond clock holds (it would overflow).
        "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(PkiRevocationIndex, FormatThenParseGivesTheEntriesBack) {
  std::vector<Revocation> in = {
      {"5c3e9a0d21f7", kWhen, RevocationReason::kKeyCompromise, "CN=db1,O=tlsgate"},
      {"1", kWhen + 1h, RevocationReason::kUnspecified, "-"},
      {"abc", kWhen + 2h, RevocationReason::kAaCompromise, "CN=a\tb,O=x"},
  };
  std::string text = format_revocation_index(in);
  EXPECT_THAT(text, HasSubstr("# tlsgate revocation index: serial\trevoked at\treason\tsubject\n"));
  EXPECT_THAT(text,
              HasSubstr("5c3e9a0d21f7\t2026-12-06T08:30:05Z\tkeyCompromise\tCN=db1,O=tlsgate\n"));
  // A TAB in a subject would split the line; it is written as a space.
  EXPECT_THAT(text, HasSubstr("abc\t2026-12-06T10:30:05Z\taACompromise\tCN=a b,O=x\n"));
  auto out = parse_revocation_index(text, "revocations.txt");
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_EQ(out->size(), 3U);
  EXPECT_EQ((*out)[0].serial_hex, "5c3e9a0d21f7");
  EXPECT_EQ((*out)[0].revoked_at, kWhen);
  EXPECT_EQ((*out)[0].reason, RevocationReason::kKeyCompromise);
  EXPECT_EQ((*out)[0].subject, "CN=db1,O=tlsgate");
  EXPECT_EQ((*out)[1].reason, RevocationReason::kUnspecified);
  EXPECT_EQ((*out)[2].subject, "CN=a b,O=x");
  EXPECT_NE(find_revocation(*out, "1"), nullptr);
  EXPECT_EQ(find_revocation(*out, "2"), nullptr);
  auto entries = crl_entries(*out);
  ASSERT_EQ(entries.size(), 3U);
  EXPECT_EQ(entries[2].reason, RevocationReason::kAaCompromise);
}

TEST(PkiRevocationIndex, BadLinesAreNamedWithTheirLineNumber) {
  auto check = [](const std::string& text, const std::string& message) {
    auto r = parse_revocation_index(text, "ca/revocations.txt");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message(), message);
  };
  check("# header\n\nzz\t2026-12-06T08:30:05Z\tsuperseded\t-\n",
        "ca/revocations.txt:3: serial \"zz\" is not hexadecimal");
  check("ab\t2026-12-06T08:30:05Z\tsuperseded\n",
        "ca/revocations.txt:1: expected 4 TAB-separated fields (serial, revoked at, reason, "
        "subject), found 3; repair the line or restore the file from a backup");
  check("ab\tyesterday\tsuperseded\t-\n",
        "ca/revocations.txt:1: revocation time \"yesterday\" is not an RFC 3339 UTC time like "
        "2026-12-06T08:30:00Z");
  check("ab\t2026-12-06T08:30:05Z\tremoveFromCRL\t-\n",
        "ca/revocations.txt:1: reason removeFromCRL only belongs in delta CRLs, which tlsgate does "
        "not issue; a revocation cannot be taken back (issue a new certificate instead)");
  check("0ab\t2026-12-06T08:30:05Z\tsuperseded\t-\nAB\t2026-12-06T08:30:05Z\tsuperseded\t-\n",
        "ca/revocations.txt:2: serial ab is listed twice; delete one line");
}

TEST(PkiRevocationIndex, CrlNumber) {
  EXPECT_EQ(parse_crl_number("41\n", "crlnumber").value(), 41U);
  auto bad = parse_crl_number("forty", "ca/crlnumber");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("ca/crlnumber: \"forty\" is not a CRL number"));
  EXPECT_FALSE(parse_crl_number("", "crlnumber"));
  EXPECT_FALSE(parse_crl_number("-1", "crlnumber"));
}

TEST(PkiRevocationIndex, ReasonNames) {
  EXPECT_EQ(parse_revocation_reason("keycompromise").value(), RevocationReason::kKeyCompromise);
  EXPECT_EQ(reason_name(RevocationReason::kCaCompromise), "cACompromise");
  auto bad = parse_revocation_reason("stolen");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "unknown revocation reason \"stolen\"; use one of unspecified, keyCompromise, "
            "cACompromise, affiliationChanged, superseded, cessationOfOperation, "
            "certificateHold, privilegeWithdrawn, aACompromise");
  EXPECT_EQ(normalize_serial_hex("0x00:3F:0a").value(), "3f0a");
  EXPECT_EQ(normalize_serial_hex("000").value(), "0");
  EXPECT_FALSE(normalize_serial_hex("3g"));
  EXPECT_FALSE(normalize_serial_hex(""));
}

}  // namespace
}  // namespace tlsgate::pki
