#include "admin/certificate_upload.h"

#include <unistd.h>

#include <atomic>

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <nlohmann/json.hpp>

#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/pkcs12.h"
#include "pki/private_key_loader.h"
#include "tls/context.h"
#include "tls/server_name.h"
#include "util/atomic_file.h"

namespace tlsgate::admin {
namespace {

namespace fs = std::filesystem;

// What messages call the two halves of an upload.
const std::string& cert_source() {
  static const std::string name = "the uploaded certificate";
  return name;
}
const std::string& key_source() {
  static const std::string name = "the uploaded private key";
  return name;
}

std::optional<std::string> string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

util::Result<UploadMaterial> from_pkcs12(const std::string& b64, const std::string& password) {
  auto der = decode_base64(b64);
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
  return UploadMaterial{std::move(*chain), std::move(*key)};
}

// A password that is a $(command) is not run here: the context build below
// runs it, under serve --expand-commands, as a reload does.
std::optional<util::Secret> literal_password(const config::Policy& p) {
  if (!p.private_key_password || p.private_key_password->reveal().starts_with("$(")) return {};
  return p.private_key_password;
}

bool names_cover(const X509* leaf, const std::string& host) {
  if (tls::is_ip_literal(host))
    return X509_check_ip_asc(const_cast<X509*>(leaf), host.c_str(), 0) == 1;
  return X509_check_host(const_cast<X509*>(leaf), host.c_str(), host.size(),
                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
}

// Builds the policy from the material written beside its own files, so
// every check of a real reload (and nothing less) runs on it.
util::Status build_from_temp(const UploadMaterial& m, const UploadTarget& t,
                             const util::Clock& clock) {
  static std::atomic<unsigned> counter{0};
  const auto folder = t.policy.private_key.parent_path();
  const auto stem =
      ".tlsgate-upload-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  config::Policy copy = t.policy;
  copy.private_key = folder / (stem + ".key");
  copy.public_certificate = folder / (stem + ".crt");
  struct Cleanup {
    const config::Policy& p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove(p.private_key, ec);
      fs::remove(p.public_certificate, ec);
    }
  } cleanup{copy};
  if (auto w = util::write_file_atomic(copy.private_key, m.private_key_pem, 0600); !w) return w;
  if (auto w = util::write_file_atomic(copy.public_certificate, m.certificate_pem, 0600); !w) {
    return w;
  }
  tls::BuildOptions options;
  options.expand_commands = t.expand_commands;
  auto built = tls::build_context(copy, t.serves_clients ? tls::Side::kServer : tls::Side::kClient,
                                  options, clock);
  if (!built) return util::fail(built.error());
  return {};
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean.push_back(c);
  }
  if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && clean[clean.size() - 1 - pad] == '=') ++pad;
  if (clean.find('=') < clean.size() - pad) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

util::Result<UploadMaterial> parse_upload(std::string_view body) {
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
  return UploadMaterial{std::move(*cert), std::move(*key)};
}

tl::expected<void, UploadRefusal> check_upload(const UploadMaterial& m, const UploadTarget& t,
                                               const util::Clock& clock) {
  UploadRefusal refusal;
  auto& reasons = refusal.reasons;
  auto certs = pki::parse_certificates(m.certificate_pem, cert_source());
  auto key = pki::parse_private_key(m.private_key_pem, key_source(), literal_password(t.policy));
  if (!certs) reasons.push_back(certs.error().message());
  if (certs && certs->empty()) reasons.push_back(cert_source() + " holds no certificate");
  if (!key) reasons.push_back(key.error().message());
  if (!reasons.empty()) return tl::unexpected(std::move(refusal));

  const X509* leaf = (*certs)[0].get();
  auto info = pki::describe(leaf, clock);
  if (auto match = pki::check_key_matches(leaf, key->get(), cert_source(), key_source()); !match) {
    reasons.push_back(match.error().message());
  }
  if (info.expired) {
    reasons.push_back("certificate " + info.subject + " (serial " + info.serial_hex +
                      ") expired on " + pki::format_time(info.not_after) + "; issue a new one");
  }
  if (info.not_yet_valid) {
    reasons.push_back("certificate " + info.subject + " (serial " + info.serial_hex +
                      ") is not valid before " + pki::format_time(info.not_before) +
                      "; upload it then, or check the issuer's clock");
  }
  const std::string trust_key = "ssl.policy." + t.policy.scope + ".trusted_dir";
  std::error_code ec;
  auto trusted = fs::is_directory(t.policy.trusted_dir, ec)
                     ? pki::load_certificates_dir(t.policy.trusted_dir)
                     : util::Result<std::vector<pki::X509Ptr>>(std::vector<pki::X509Ptr>{});
  if (!trusted) {
    reasons.push_back(trusted.error().prefixed(trust_key).message());
  } else if (trusted->empty()) {
    reasons.push_back(trust_key + " (" + t.policy.trusted_dir.string() +
                      ") holds no CA certificate to verify the uploaded chain against; put its "
                      "issuer's certificate there first");
  } else {
    std::vector<pki::X509Ptr> chain;
    for (size_t i = 1; i < certs->size(); ++i) chain.push_back(pki::up_ref((*certs)[i].get()));
    pki::VerifyOptions options;
    options.check_time = false;  // said above, in words of its own
    if (t.serves_clients) options.purpose = pki::VerifyOptions::Purpose::kServer;
    if (auto v = pki::verify_chain(leaf, chain, *trusted, {}, options); !v) {
      reasons.push_back("the chain does not verify against " + trust_key + ": " +
                        v.error().message());
    }
  }
  for (const auto& host : t.listen_hosts) {
    if (!names_cover(leaf, host)) {
      reasons.push_back("certificate " + info.subject + " does not cover \"" + host +
                        "\", a listen host of a connector that serves ssl.policy." +
                        t.policy.scope + "; add it to the certificate's subjectAltName");
    }
  }
  if (reasons.empty()) {
    if (auto built = build_from_temp(m, t, clock); !built) {
      reasons.push_back(built.error().message());
    }
  }
  if (!reasons.empty()) return tl::unexpected(std::move(refusal));
  return {};
}

util::Status install_upload(const UploadMaterial& m, const config::Policy& policy) {
  // The backups first: once the new pair is in place the old one must
  // still exist somewhere.
  for (const auto& [path, mode] : {std::pair{policy.private_key, mode_t{0400}},
                                   std::pair{policy.public_certificate, mode_t{0644}}}) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto old = util::read_file(path);
    if (!old) return util::fail(old.error());
    auto bak = path;
    bak += ".bak";
    if (auto w = util::write_file_atomic(bak, *old, mode); !w) return w;
  }
  if (auto w = util::write_file_atomic(policy.private_key, m.private_key_pem, 0400); !w) return w;
  return util::write_file_atomic(policy.public_certificate, m.certificate_pem, 0644);
}

util::Status restore_backup(const config::Policy& policy) {
  for (const auto& [path, mode] : {std::pair{policy.private_key, mode_t{0400}},
                                   std::pair{policy.public_certificate, mode_t{0644}}}) {
    auto bak = path;
    bak += ".bak";
    std::error_code ec;
    if (!fs::exists(bak, ec)) continue;
    auto old = util::read_file(bak);
    if (!old) return util::fail(old.error());
    if (auto w = util::write_file_atomic(path, *old, mode); !w) return w;
  }
  return {};
}

}  // namespace tlsgate::admin
