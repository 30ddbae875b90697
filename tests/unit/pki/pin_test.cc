#include "pki/pin.h"

#include <gtest/gtest.h>

#include "pki/base64.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

using namespace test_util;

std::string openssl_pin(const std::filesystem::path& cert) {
  std::string out = openssl_ok("openssl x509 -noout -pubkey -in " + q(cert) +
                               " | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r");
  return out.substr(0, 64);
}

TEST(PkiPin, MatchesTheOpensslPipelineForEcAndRsa) {
  test::TempDir dir;
  auto ca = test::make_test_ca("Pin CA", rsa_key_spec(2048).value());
  auto leaf = test::make_leaf(ca, {"db1"});
  test::write_cert(dir / "ca.crt", ca.ca.cert.get());
  test::write_cert(dir / "leaf.crt", leaf.cert.get());
  EXPECT_EQ(util::hex(spki_sha256(ca.ca.cert.get())), openssl_pin(dir / "ca.crt"));
  EXPECT_EQ(util::hex(spki_sha256(leaf.cert.get())), openssl_pin(dir / "leaf.crt"));
  EXPECT_EQ(spki_sha256(leaf.cert.get()).size(), 32u);
  std::string b64 =
      openssl_ok("openssl x509 -noout -pubkey -in " + q(dir / "leaf.crt") +
                 " | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | "
                 "openssl base64 -A");
  EXPECT_EQ(encode_base64(spki_sha256(leaf.cert.get())), b64);
}

TEST(PkiPin, Base64IsStandardWithPadding) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(PkiPin, ParsesBothSpellings) {
  auto ca = test::make_test_ca();
  std::string raw = spki_sha256(ca.ca.cert.get());
  std::string hex = util::hex(raw);
  EXPECT_EQ(parse_pin(hex).value(), raw);
  EXPECT_EQ(parse_pin(util::to_upper(hex)).value(), raw);
  EXPECT_EQ(parse_pin("sha256:" + hex).value(), raw);
  EXPECT_EQ(parse_pin("SHA256:" + hex).value(), raw);
  EXPECT_EQ(parse_pin("  " + hex + "\n").value(), raw);
  EXPECT_EQ(parse_pin("sha256//" + encode_base64(raw)).value(), raw);
}

TEST(PkiPin, RejectsAnythingElseSayingWhatIsAccepted) {
  const std::string kTail =
      "\" is not a SHA-256 public-key pin; write 64 hex digits (optionally after \"sha256:\") or "
      "sha256//BASE64, as `tlsgate cert pin` prints them";
  std::string hex63(63, 'a');
  for (std::string bad :
       {std::string(), hex63, hex63 + "g", std::string(66, 'a'),
        "sha256//" + encode_base64("short"), std::string("sha256//!!!!"),
        "sha1:" + std::string(64, 'a'), "sha256//" + encode_base64(std::string(32, 'x')) + "A"}) {
    auto r = parse_pin(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(), "\"" + bad + kTail);
  }
}

}  // namespace
}  // namespace tlsgate::pki
