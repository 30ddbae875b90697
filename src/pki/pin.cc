#include "pki/pin.h"

#include <openssl/evp.h>

#include <cctype>
#include <optional>

#include "pki/base64.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

constexpr size_t kDigestSize = 32;

std::optional<std::string> decode_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

// The SubjectPublicKeyInfo as the certificate carries it: encoding the
// EVP_PKEY again (i2d_PUBKEY) goes through OpenSSL 3's encoders and costs
// some 250 us, on every handshake that maps an identity and every re-check.
std::string spki_sha256(const X509* cert) {
  const X509_PUBKEY* key = X509_get_X509_PUBKEY(cert);
  if (key == nullptr) return {};
  int len = i2d_X509_PUBKEY(key, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_PUBKEY(key, &p) != len) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(der.data(), der.size(), md, &md_len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

util::Result<std::string> parse_pin(std::string_view text) {
  std::string_view pin = util::trim(text);
  std::optional<std::string> raw;
  if (util::starts_with_nocase(pin, "sha256//")) {
    raw = decode_base64(pin.substr(8));
  } else {
    std::string_view digits = util::starts_with_nocase(pin, "sha256:") ? pin.substr(7) : pin;
    if (digits.size() == 2 * kDigestSize) raw = decode_hex(digits);
  }
  if (!raw || raw->size() != kDigestSize) {
    return util::fail("\"" + std::string(pin) +
                      "\" is not a SHA-256 public-key pin; write 64 hex digits (optionally after "
                      "\"sha256:\") or sha256//BASE64, as `tlsgate cert pin` prints them");
  }
  return *raw;
}

}  // namespace tlsgate::pki
