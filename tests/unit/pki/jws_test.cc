// pki/jws.h: signatures checked by OpenSSL against a key rebuilt from the
// JWK alone (so the JWK and the signature are both right), RFC 7638's
// thumbprint example, and the External Account Binding's HMAC.
#include "pki/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <gtest/gtest.h>

#include "pki/issuer.h"

namespace tlsgate::pki {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG_free>>;

std::string b64(const nlohmann::json& j, const char* name) {
  auto v = base64url_decode(j.at(name).get<std::string>());
  EXPECT_TRUE(v.has_value()) << name;
  return v.value_or("");
}

BignumPtr bn(const std::string& bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), nullptr));
}

// The public key a JWK describes, built by OpenSSL from its members only.
EvpPkeyPtr key_from_jwk(const nlohmann::json& jwk) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::string point;
  BignumPtr n, e;
  if (jwk.at("kty") == "EC") {
    EXPECT_EQ(jwk.at("crv"), "P-256");
    point = "\x04" + b64(jwk, "x") + b64(jwk, "y");
    EXPECT_EQ(point.size(), 65u);
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
  } else {
    n = bn(b64(jwk, "n"));
    e = bn(b64(jwk, "e"));
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, jwk.at("kty") == "EC" ? "EC" : "RSA", nullptr));
  EVP_PKEY* out = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
  return EvpPkeyPtr(out);
}

// Verifies a flattened JWS with the key of `jwk`; ES256's r||s is turned
// back into DER for OpenSSL.
bool verifies(const nlohmann::json& jws, const nlohmann::json& jwk) {
  auto key = key_from_jwk(jwk);
  std::string input =
      jws.at("protected").get<std::string>() + "." + jws.at("payload").get<std::string>();
  std::string sig = b64(jws, "signature");
  if (jwk.at("kty") == "EC") {
    EXPECT_EQ(sig.size(), 64u);
    EcdsaSigPtr ecdsa(ECDSA_SIG_new());
    ECDSA_SIG_set0(ecdsa.get(), bn(sig.substr(0, 32)).release(), bn(sig.substr(32)).release());
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(ecdsa.get(), &der);
    sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

TEST(JwsTest, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("aGVsbG8"), std::string("hello"));
  EXPECT_FALSE(base64url_decode("+/8="));
  EXPECT_FALSE(base64url_decode("aGVsbG8="));
  EXPECT_FALSE(base64url_decode("a"));
}

TEST(JwsTest, Es256SignatureVerifiesWithTheJwk) {
  auto key = generate_key(KeySpec{}).value();
  auto jwk = public_jwk(key.get()).value();
  EXPECT_EQ(jwk.size(), 4u);
  auto jws =
      sign_jws(key.get(), {{"nonce", "n1"}, {"url", "https://ca/acct"}}, R"({"a":1})").value();
  auto header = nlohmann::json::parse(b64(jws, "protected"));
  EXPECT_EQ(header.at("alg"), "ES256");
  EXPECT_EQ(header.at("nonce"), "n1");
  EXPECT_EQ(b64(jws, "payload"), R"({"a":1})");
  EXPECT_TRUE(verifies(jws, jwk));
  // A changed payload does not verify (the check can fail).
  auto forged = jws;
  forged["payload"] = base64url_encode(R"({"a":2})");
  EXPECT_FALSE(verifies(forged, jwk));
}

TEST(JwsTest, Rs256SignatureVerifiesWithTheJwkAndPostAsGetHasAnEmptyPayload) {
  auto key = generate_key(KeySpec{KeySpec::Type::kRsa, 2048}).value();
  auto jwk = public_jwk(key.get()).value();
  EXPECT_EQ(jwk.at("kty"), "RSA");
  EXPECT_EQ(jwk.at("e"), "AQAB");
  auto jws = sign_jws(key.get(), {{"url", "u"}}, "").value();
  EXPECT_EQ(jws.at("payload"), "");
  EXPECT_EQ(nlohmann::json::parse(b64(jws, "protected")).at("alg"), "RS256");
  EXPECT_TRUE(verifies(jws, jwk));
}

TEST(JwsTest, ThumbprintMatchesRfc7638Example) {
  nlohmann::json jwk{
      {"kty", "RSA"},
      {"e", "AQAB"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
       "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
       "kEgU8awapJzKnqDKgw"}};
  auto key = key_from_jwk(jwk);
  EXPECT_EQ(jwk_thumbprint(key.get()).value(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(JwsTest, ExternalAccountBindingIsAnHs256JwsOverTheAccountJwk) {
  auto key = generate_key(KeySpec{}).value();
  std::string hmac_key = "0123456789abcdef0123456789abcdef";
  auto eab =
      sign_external_account_binding("kid-1", hmac_key, key.get(), "https://ca/new-acct").value();
  auto header = nlohmann::json::parse(b64(eab, "protected"));
  EXPECT_EQ(header,
            (nlohmann::json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}}));
  EXPECT_EQ(nlohmann::json::parse(b64(eab, "payload")), public_jwk(key.get()).value());
  std::string input =
      eab.at("protected").get<std::string>() + "." + eab.at("payload").get<std::string>();
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  EXPECT_EQ(b64(eab, "signature"), std::string(reinterpret_cast<char*>(mac), len));
  EXPECT_FALSE(sign_external_account_binding("kid-1", "", key.get(), "u"));
}

TEST(JwsTest, OtherKeysAreRefusedByName) {
  EvpPkeyPtr p384(EVP_EC_gen("secp384r1"));
  auto alg = jws_algorithm(p384.get());
  ASSERT_FALSE(alg);
  EXPECT_EQ(alg.error().message(),
            "the key is an EC key on curve secp384r1; ACME signing here takes P-256 (ES256) or "
            "RSA (RS256)");
}

}  // namespace
}  // namespace tlsgate::pki
