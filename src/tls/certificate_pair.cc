#include "tls/certificate_pair.h"

#include <unistd.h>

#include <atomic>

#include <openssl/x509v3.h>

#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/loader.h"
#include "pki/private_key_loader.h"
#include "tls/context.h"
#include "tls/policy_key.h"
#include "tls/server_name.h"
#include "util/atomic_file.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;

// A password that is a $(command) is not run here: the context build below
// runs it, under serve --expand-commands, as a reload does.
std::optional<util::Secret> literal_password(const config::Policy& p) {
  if (!p.private_key_password || p.private_key_password->reveal().starts_with("$(")) return {};
  return p.private_key_password;
}

// Builds the policy from the material written beside its own files, so
// every check of a real reload (and nothing less) runs on it.
util::Status build_from_temp(const CertificatePair& m, const PairTarget& t,
                             const util::Clock& clock) {
  static std::atomic<unsigned> counter{0};
  const auto folder = t.policy.private_key.parent_path();
  const auto stem =
      ".tlsgate-pair-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
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
  BuildOptions options;
  options.expand_commands = t.expand_commands;
  auto built =
      build_context(copy, t.serves_clients ? Side::kServer : Side::kClient, options, clock);
  if (!built) return util::fail(built.error());
  return {};
}

}  // namespace

bool names_cover(const X509* leaf, const std::string& host) {
  if (is_ip_literal(host)) return X509_check_ip_asc(const_cast<X509*>(leaf), host.c_str(), 0) == 1;
  return X509_check_host(const_cast<X509*>(leaf), host.c_str(), host.size(),
                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
}

tl::expected<void, PairRefusal> check_pair(const CertificatePair& m, const PairTarget& t,
                                           const util::Clock& clock) {
  PairRefusal refusal;
  auto& reasons = refusal.reasons;
  auto certs = pki::parse_certificates(m.certificate_pem, m.certificate_source());
  auto key = pki::parse_private_key(m.private_key_pem, m.key_source(), literal_password(t.policy),
                                    policy_key_password_advice(t.policy));
  if (!certs) reasons.push_back(certs.error().message());
  if (certs && certs->empty()) reasons.push_back(m.certificate_source() + " holds no certificate");
  if (!key) reasons.push_back(key.error().message());
  if (!reasons.empty()) return tl::unexpected(std::move(refusal));

  const X509* leaf = (*certs)[0].get();
  auto info = pki::describe(leaf, clock);
  if (auto match = pki::check_key_matches(leaf, key->get(), m.certificate_source(), m.key_source());
      !match) {
    reasons.push_back(match.error().message());
  }
  if (info.expired) {
    reasons.push_back("certificate " + info.subject + " (serial " + info.serial_hex +
                      ") expired on " + pki::format_time(info.not_after) + "; issue a new one");
  }
  if (info.not_yet_valid) {
    reasons.push_back("certificate " + info.subject + " (serial " + info.serial_hex +
                      ") is not valid before " + pki::format_time(info.not_before) +
                      "; install it then, or check the issuer's clock");
  }
  const std::string trust_key = "ssl.policy." + t.policy.scope + ".trusted_dir";
  std::error_code ec;
  auto trusted = fs::is_directory(t.policy.trusted_dir, ec)
                     ? pki::load_certificates_dir(t.policy.trusted_dir)
                     : util::Result<std::vector<pki::X509Ptr>>(std::vector<pki::X509Ptr>{});
  if (!trusted) {
    reasons.push_back(trusted.error().prefixed(trust_key).message());
  } else {
    auto extra = t.extra_trust_pem.empty()
                     ? util::Result<std::vector<pki::X509Ptr>>(std::vector<pki::X509Ptr>{})
                     : pki::parse_certificates(t.extra_trust_pem, "the issuer to trust first");
    if (!extra) {
      reasons.push_back(extra.error().message());
    } else {
      for (auto& c : *extra) trusted->push_back(std::move(c));
    }
  }
  if (!trusted || !reasons.empty()) {
  } else if (trusted->empty()) {
    reasons.push_back(trust_key + " (" + t.policy.trusted_dir.string() +
                      ") holds no CA certificate to verify " + m.certificate_source() +
                      " against; put its issuer's certificate there first");
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
      auto named = t.listen_host_keys.find(host);
      reasons.push_back(
          "certificate " + info.subject + " does not cover \"" + host + "\", " +
          (named != t.listen_host_keys.end()
               ? "the host of " + named->second + ", served with ssl.policy." + t.policy.scope +
                     "; clients connecting there would refuse it"
               : "a listen host of a connector that serves ssl.policy." + t.policy.scope) +
          "; add it to the certificate's subjectAltName");
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

util::Status refuse_symbolic_links(const config::Policy& policy) {
  for (const auto& path : {policy.public_certificate, policy.private_key}) {
    std::error_code ec;
    if (!fs::is_symlink(path, ec)) continue;
    auto target = fs::read_symlink(path, ec);
    std::string where = ec ? std::string("a target it cannot read") : target.string();
    if (!ec && target.is_relative()) {
      auto resolved = fs::weakly_canonical(path.parent_path() / target, ec);
      if (!ec) where += " (" + resolved.string() + ")";
    }
    return util::fail(path.string() + " is a symbolic link to " + where +
                      "; update the target (where your renewal tool writes) or replace the link "
                      "by a file first");
  }
  return {};
}

util::Status install_pair(const CertificatePair& m, const config::Policy& policy) {
  if (auto links = refuse_symbolic_links(policy); !links) return links;
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

util::Status restore_pair_backup(const config::Policy& policy) {
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

}  // namespace tlsgate::tls
