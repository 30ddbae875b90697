#include "admin/certificate_upload.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "pki/base64.h"
#include "pki/encode.h"
#include "pki/pkcs12.h"

namespace tlsgate::admin {
namespace {

std::optional<std::string> string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

util::Result<tls::CertificatePair> from_pkcs12(const std::string& b64,
                                               const std::string& password) {
  auto der = pki::decode_base64(b64);
  if (!der)
    return util::fail("\"pkcs12\" is not base64; send the key store's bytes base64-encoded");
  auto store = pki::read_pkcs12(*der, "the uploaded PKCS#12 key store", util::Secret(password));
  if (!store) return util::fail(store.error());
  if (!store->cert || !store->key) {
    return util::fail(
        "the uploaded PKCS#12 key store holds no certificate with its private key; export the "
        "pair (leaf and key) into it");
  }
  auto chain = pki::chain_pem(store->cert.get(), store->chain);
  if (!chain) return util::fail(chain.error());
  auto key = pki::private_key_pem(store->key.get());
  if (!key) return util::fail(key.error());
  return tls::CertificatePair{std::move(*chain), std::move(*key)};
}

}  // namespace

util::Result<tls::CertificatePair> parse_upload(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return util::fail("the body is not JSON");
  if (!j.is_object()) return util::fail("the body is not a JSON object");
  auto cert = string_field(j, "certificate");
  auto key = string_field(j, "private_key");
  auto p12 = string_field(j, "pkcs12");
  if (p12) {
    if (cert || key) {
      return util::fail("the body has both \"pkcs12\" and \"certificate\"/\"private_key\"");
    }
    return from_pkcs12(*p12, string_field(j, "password").value_or(""));
  }
  if (!cert || !key) {
    return util::fail(
        "the body needs the strings \"certificate\" (PEM chain, leaf first) and "
        "\"private_key\" (PEM), or \"pkcs12\" (base64) and \"password\"");
  }
  return tls::CertificatePair{std::move(*cert), std::move(*key)};
}

}  // namespace tlsgate::admin
