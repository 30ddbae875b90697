// JSON Web Signatures for ACME (RFC 7515, RFC 7517, RFC 7638, RFC 8555 6.2):
// base64url, the JWK of an account's public key, its thumbprint, flattened
// JWS signed with ES256 (P-256) or RS256 (RSA), and the HS256 inner JWS of
// an External Account Binding. No sockets; pure functions, thread-safe.
//
// JSON is built and printed by nlohmann-json (its dump() is compact and
// sorts the members, which is the form RFC 7638 asks for), signatures by
// OpenSSL. An ES256 signature is the raw r||s pair (64 bytes), not DER.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::pki {

// RFC 4648 section 5, without padding.
std::string base64url_encode(std::string_view bytes);
// The bytes, or nullopt when text is not unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

// An External Account Binding HMAC key as a CA hands it out (base64url,
// padding and surrounding white space allowed): its raw bytes, or an error
// that names `source` (never the key).
util::Result<std::string> decode_eab_hmac_key(std::string_view text, const std::string& source);

// "ES256" for an EC P-256 key, "RS256" for RSA; an error for any other key.
util::Result<std::string> jws_algorithm(const EVP_PKEY* key);

// The public JWK: {"crv":"P-256","kty":"EC","x":..,"y":..} or {"e":..,"kty":"RSA","n":..}.
util::Result<nlohmann::json> public_jwk(const EVP_PKEY* key);

// RFC 7638: base64url(SHA-256(compact JSON of the required members, sorted)).
util::Result<std::string> jwk_thumbprint(const EVP_PKEY* key);

// A flattened JWS {"protected","payload","signature"}: `header` gets "alg"
// from the key and is signed with `payload` (already serialized; "" for
// ACME's POST-as-GET).
util::Result<nlohmann::json> sign_jws(const EVP_PKEY* key, nlohmann::json header,
                                      std::string_view payload);

// The externalAccountBinding value of newAccount (RFC 8555 7.3.4): an HS256
// JWS by hmac_key (raw bytes) over the account's public JWK, with header
// {"alg":"HS256","kid":key_id,"url":url}.
util::Result<nlohmann::json> sign_external_account_binding(std::string_view key_id,
                                                           std::string_view hmac_key,
                                                           const EVP_PKEY* account_key,
                                                           std::string_view url);

}  // namespace tlsgate::pki
