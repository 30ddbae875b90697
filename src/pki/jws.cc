#include "pki/jws.h"

#include <cctype>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "pki/base64.h"
#include "pki/openssl_error.h"

namespace tlsgate::pki {

namespace {

// dump() that never throws: strings that are not UTF-8 (a caller's bug)
// get U+FFFD instead of an exception.
std::string compact(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG_free>>;

std::string bytes_of(const unsigned char* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

// A big-endian integer parameter of key; pad: its fixed width (0: minimal).
util::Result<std::string> bn_param(const EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return util::fail(openssl_error(std::string("cannot read the key's ") + name));
  }
  BignumPtr bn(raw);
  int size = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<size_t>(size), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  int n = pad > 0 ? BN_bn2binpad(bn.get(), p, size) : BN_bn2bin(bn.get(), p);
  if (n != size) return util::fail(openssl_error(std::string("cannot encode the key's ") + name));
  return out;
}

util::Result<std::string> sign_bytes(const EVP_PKEY* key, std::string_view input) {
  auto alg = jws_algorithm(key);
  if (!alg) return util::fail(alg.error());
  clear_openssl_errors();
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, unconst(key)) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return util::fail(openssl_error("cannot sign the JWS"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return util::fail(openssl_error("cannot sign the JWS"));
  }
  sig.resize(len);
  if (*alg == "RS256") return sig;
  // ES256 (RFC 7518 3.4): the DER ECDSA-Sig-Value becomes r||s, 32 bytes each.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!ecdsa) return util::fail(openssl_error("cannot decode the ECDSA signature"));
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + 32, 32) != 32) {
    return util::fail(openssl_error("cannot encode the ECDSA signature"));
  }
  return raw;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out = encode_base64(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string std_form;
  std_form.reserve(text.size() + 3);
  for (char c : text) {
    if (c == '+' || c == '/' || c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      return std::nullopt;  // not the URL alphabet, or padded
    }
    std_form += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  if (std_form.size() % 4 == 1) return std::nullopt;
  while (std_form.size() % 4 != 0) std_form += '=';
  return decode_base64(std_form);
}

util::Result<std::string> jws_algorithm(const EVP_PKEY* key) {
  if (key == nullptr) return util::fail("no account key");
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) return std::string("RS256");
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return std::string("ES256");
    }
    return util::fail("the key is an EC key on curve " + std::string(group, len) +
                      "; ACME signing here takes P-256 (ES256) or RSA (RS256)");
  }
  return util::fail(std::string("the key is of type ") + OBJ_nid2sn(EVP_PKEY_get_base_id(key)) +
                    "; ACME signing here takes P-256 (ES256) or RSA (RS256)");
}

util::Result<nlohmann::json> public_jwk(const EVP_PKEY* key) {
  auto alg = jws_algorithm(key);
  if (!alg) return util::fail(alg.error());
  if (*alg == "RS256") {
    auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0);
    auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!n) return util::fail(n.error());
    if (!e) return util::fail(e.error());
    return nlohmann::json{{"kty", "RSA"}, {"n", base64url_encode(*n)}, {"e", base64url_encode(*e)}};
  }
  auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
  auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  if (!x) return util::fail(x.error());
  if (!y) return util::fail(y.error());
  return nlohmann::json{
      {"kty", "EC"}, {"crv", "P-256"}, {"x", base64url_encode(*x)}, {"y", base64url_encode(*y)}};
}

util::Result<std::string> jwk_thumbprint(const EVP_PKEY* key) {
  auto jwk = public_jwk(key);
  if (!jwk) return util::fail(jwk.error());
  // public_jwk holds exactly the required members; dump() sorts them.
  std::string canonical = compact(*jwk);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return base64url_encode(bytes_of(digest, sizeof digest));
}

util::Result<nlohmann::json> sign_jws(const EVP_PKEY* key, nlohmann::json header,
                                      std::string_view payload) {
  auto alg = jws_algorithm(key);
  if (!alg) return util::fail(alg.error());
  header["alg"] = *alg;
  std::string protected_b64 = base64url_encode(compact(header));
  std::string payload_b64 = base64url_encode(payload);
  auto sig = sign_bytes(key, protected_b64 + "." + payload_b64);
  if (!sig) return util::fail(sig.error());
  return nlohmann::json{{"protected", protected_b64},
                        {"payload", payload_b64},
                        {"signature", base64url_encode(*sig)}};
}

util::Result<nlohmann::json> sign_external_account_binding(std::string_view key_id,
                                                           std::string_view hmac_key,
                                                           const EVP_PKEY* account_key,
                                                           std::string_view url) {
  if (hmac_key.empty()) return util::fail("the External Account Binding HMAC key is empty");
  auto jwk = public_jwk(account_key);
  if (!jwk) return util::fail(jwk.error());
  nlohmann::json header{{"alg", "HS256"}, {"kid", key_id}, {"url", url}};
  std::string input = base64url_encode(compact(header)) + "." + base64url_encode(compact(*jwk));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  clear_openssl_errors();
  if (HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr) {
    return util::fail(openssl_error("cannot compute the External Account Binding HMAC"));
  }
  auto dot = input.find('.');
  return nlohmann::json{{"protected", input.substr(0, dot)},
                        {"payload", input.substr(dot + 1)},
                        {"signature", base64url_encode(bytes_of(mac, mac_len))}};
}

util::Result<std::string> decode_eab_hmac_key(std::string_view text, const std::string& source) {
  std::string compact;
  for (char c : text) {
    if (c != '=' && !std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  auto raw = base64url_decode(compact);
  if (!raw || raw->empty()) {
    return util::fail(source +
                      ": not a base64url HMAC key; put the key there exactly as the CA "
                      "gave it");
  }
  return *raw;
}

}  // namespace tlsgate::pki
