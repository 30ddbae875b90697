#include "tls/openssl_names.h"

#include <map>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/ssl_handles.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

SslCtxPtr scratch_ctx() { return SslCtxPtr(SSL_CTX_new(TLS_method())); }

// Every cipher this OpenSSL knows, by OpenSSL and IANA name, with its version.
struct CipherCatalog {
  std::map<std::string, std::string> tls12;  // OpenSSL and IANA name -> OpenSSL name
  std::map<std::string, std::string> tls13;  // IANA name (== OpenSSL name) -> name
};

const CipherCatalog& catalog() {
  static const CipherCatalog cat = [] {
    CipherCatalog c;
    auto ctx = scratch_ctx();
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL");
    SSL_CTX_set_ciphersuites(ctx.get(),
                             "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                             "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
                             "TLS_AES_128_CCM_8_SHA256");
    STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
      const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(all, i);
      std::string name = SSL_CIPHER_get_name(cipher);
      const char* iana = SSL_CIPHER_standard_name(cipher);
      if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any) {  // TLS 1.3 suites name no key exchange
        c.tls13[name] = name;
      } else {
        c.tls12[name] = name;
        if (iana != nullptr) c.tls12[iana] = name;
      }
    }
    ERR_clear_error();
    return c;
  }();
  return cat;
}

std::string upper_name(const std::string& name) { return util::to_upper(util::trim(name)); }

}  // namespace

CipherSelection default_ciphers() {
  return {
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
      "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"};
}

namespace {

struct Resolution {
  CipherSelection selection;
  std::vector<std::string> errors;
};

Resolution resolve(const std::vector<std::string>& names, const VersionRange& versions) {
  Resolution r;
  if (names.empty()) {
    r.selection = default_ciphers();
    return r;
  }
  const auto& cat = catalog();
  std::vector<std::string> tls12, tls13;
  for (const auto& raw : names) {
    std::string name = upper_name(raw);
    if (auto it = cat.tls13.find(name); it != cat.tls13.end()) {
      tls13.push_back(it->second);
    } else if (auto it12 = cat.tls12.find(name); it12 != cat.tls12.end()) {
      tls12.push_back(it12->second);
    } else {
      r.errors.push_back(
          "OpenSSL rejects \"" + raw +
          "\"; use IANA or OpenSSL suite names (`openssl ciphers -s -v` lists them)");
    }
  }
  if (!r.errors.empty()) return r;
  bool want12 = versions.min_version <= TLS1_2_VERSION;
  bool want13 = versions.max_version >= TLS1_3_VERSION;
  if (want12 && tls12.empty()) {
    r.errors.push_back(
        "names no TLSv1.2 suite although TLSv1.2 is enabled; add one (e.g. "
        "ECDHE-ECDSA-AES128-GCM-SHA256) or remove TLSv1.2 from tls_versions");
  }
  if (want13 && tls13.empty()) {
    r.errors.push_back(
        "names no TLSv1.3 suite although TLSv1.3 is enabled; add one (e.g. "
        "TLS_AES_128_GCM_SHA256) or remove TLSv1.3 from tls_versions");
  }
  r.selection = {util::join(tls12, ":"), util::join(tls13, ":")};
  return r;
}

}  // namespace

std::vector<std::string> check_ciphers(const std::vector<std::string>& names,
                                       const VersionRange& versions) {
  return resolve(names, versions).errors;
}

util::Result<CipherSelection> resolve_ciphers(const std::vector<std::string>& names,
                                              const VersionRange& versions) {
  auto r = resolve(names, versions);
  if (!r.errors.empty()) return util::fail(r.errors.front());
  return r.selection;
}

std::vector<std::string> check_groups(const std::vector<std::string>& names) {
  std::vector<std::string> errors;
  if (names.empty()) {
    errors.emplace_back("is empty; name at least one group (e.g. X25519;P-256)");
    return errors;
  }
  auto ctx = scratch_ctx();
  for (const auto& raw : names) {
    std::string name(util::trim(raw));
    if (SSL_CTX_set1_groups_list(ctx.get(), name.c_str()) != 1) {
      errors.push_back("OpenSSL rejects group \"" + raw +
                       "\"; use names such as X25519, P-256, P-384, P-521, X448");
    }
  }
  ERR_clear_error();
  return errors;
}

util::Result<std::string> resolve_groups(const std::vector<std::string>& names) {
  auto errors = check_groups(names);
  if (!errors.empty()) return util::fail(errors.front());
  std::vector<std::string> trimmed;
  for (const auto& n : names) trimmed.emplace_back(util::trim(n));
  return util::join(trimmed, ":");
}

util::Result<VersionRange> resolve_versions(const std::vector<std::string>& names) {
  VersionRange range{0, 0};
  for (const auto& raw : names) {
    int v = 0;
    if (util::iequals(util::trim(raw), "TLSv1.2")) v = TLS1_2_VERSION;
    if (util::iequals(util::trim(raw), "TLSv1.3")) v = TLS1_3_VERSION;
    if (v == 0) {
      return util::fail("\"" + raw +
                        "\" is not a TLS version tlsgate speaks; use TLSv1.2, TLSv1.3");
    }
    range.min_version = range.min_version == 0 ? v : std::min(range.min_version, v);
    range.max_version = std::max(range.max_version, v);
  }
  if (range.min_version == 0) return util::fail("is empty; use TLSv1.2, TLSv1.3 or both");
  return range;
}

}  // namespace tlsgate::tls
