#include "tls/policy_auditor.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/jws.h"
#include "pki/loader.h"
#include "pki/ocsp.h"
#include "pki/openssl_error.h"
#include "pki/private_key_loader.h"
#include "tls/known_peers.h"
#include "tls/openssl_names.h"
#include "tls/password.h"
#include "tls/policy_key.h"
#include "tls/server_name.h"
#include "tls/ssl_handles.h"
#include "util/atomic_file.h"
#include "util/http_url.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

using Severity = config::Diagnostic::Severity;

bool file_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(4096);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

bool covers(const X509* cert, const std::string& host) {
  auto* c = const_cast<X509*>(cert);  // OpenSSL 3.0 takes non-const here but does not modify
  if (is_ip_literal(host)) return X509_check_ip_asc(c, host.c_str(), 0) == 1;
  return X509_check_host(c, host.data(), host.size(), 0, nullptr) == 1;
}

// "https://node1.example.com:7000/x" -> "node1.example.com"; wildcards kept.
std::string peer_host(std::string peer) {
  if (auto scheme = peer.find("://"); scheme != std::string::npos) peer = peer.substr(scheme + 3);
  if (auto slash = peer.find('/'); slash != std::string::npos) peer.resize(slash);
  if (!peer.empty() && peer.front() == '[') return peer.substr(1, peer.find(']') - 1);
  if (auto colon = peer.rfind(':'); colon != std::string::npos && peer.find(':') == colon) {
    peer.resize(colon);
  }
  return peer;
}

std::string names_of(const pki::CertificateInfo& info) {
  std::vector<std::string> names;
  for (const auto& n : info.san_dns) names.push_back(pki::san_text("DNS:", n));
  for (const auto& n : info.san_ip) names.push_back(pki::san_text("IP:", n));
  return names.empty() ? "none" : util::join(names, ", ");
}

}  // namespace

PolicyAuditor::PolicyAuditor(const config::Config& config, const config::Policy& policy,
                             const PolicyUse& use, const util::Clock& clock,
                             const AuditOptions& options, std::vector<config::Diagnostic>& out)
    : config_(config),
      policy_(policy),
      use_(use),
      clock_(clock),
      options_(options),
      out_(out),
      prefix_("ssl.policy." + policy.scope + ".") {}

void PolicyAuditor::report(Severity severity, const std::string& full_key, std::string problem,
                           std::string fix) {
  out_.push_back({severity, config_.where(full_key), full_key, std::move(problem), std::move(fix)});
}

void PolicyAuditor::error(const std::string& suffix, std::string problem, std::string fix) {
  report(Severity::kError, key(suffix), std::move(problem), std::move(fix));
}

void PolicyAuditor::warning(const std::string& suffix, std::string problem, std::string fix) {
  report(Severity::kWarning, key(suffix), std::move(problem), std::move(fix));
}

void PolicyAuditor::run() {
  check_identities();
  check_acme_files();
  if (policy_.acme() && !file_exists(policy_.public_certificate)) {
    // serve makes the folder and obtains the pair; the rest is checked then.
    warning("public_certificate",
            fmt::format("{}: no certificate yet; tlsgate serve obtains it from the ACME server "
                        "{}, and until then the connectors of this policy answer only the CA's "
                        "checks and refuse every client",
                        policy_.public_certificate.string(), policy_.acme_directory),
            "start tlsgate serve and watch its log for the first issuance");
    return;
  }
  if (!check_base_directory()) return;
  check_private_key();
  check_certificate();
  check_trusted();
  check_own_chain();
  check_revoked();
  check_names();
  check_stapling();
}

bool PolicyAuditor::check_base_directory() {
  const auto& dir = policy_.base_directory;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return true;
  error("base_directory",
        file_exists(dir) ? dir.string() + " is not a folder"
                         : "folder " + dir.string() + " does not exist",
        fmt::format("create it with `tlsgate cert install --scope {} --cert C --key K --base DIR`, "
                    "or set {}",
                    policy_.scope, key("base_directory")));
  return false;
}

// A key on a token: open it (module, token, PIN) as the gate will, and
// prove it signs; the PIN is never part of a message.
void PolicyAuditor::check_token_key() {
  if (policy_.pkcs11_module.empty()) return;  // config's cross-check names the missing key
  if (policy_.private_key_password && is_command_password(*policy_.private_key_password)) {
    warning("private_key_password",
            "is a $(command); `check` does not run it, so the token was not opened",
            "run `tlsgate serve --expand-commands` to use it");
    return;
  }
  auto key = load_policy_key(policy_, policy_.private_key_password);
  if (!key) {
    error(key.error().message().find("PKCS#11 module") != std::string::npos ? "pkcs11_module"
                                                                            : "private_key",
          key.error().message(), "");
    return;
  }
  key_ = std::move(*key);
}

void PolicyAuditor::check_private_key() {
  const auto& path = policy_.private_key;
  if (config::is_pkcs11_uri(path)) {
    check_token_key();
    return;
  }
  if (!file_exists(path)) {
    // A policy that only dials may go without a client certificate.
    if (use_.incoming || was_set("private_key")) {
      error("private_key", path.string() + ": no such file",
            "put the private key there, or set " + key("private_key") + " to its path");
    }
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      error("private_key",
            fmt::format("{} has mode {:04o}: other users can read the private key", path.string(),
                        st.st_mode & 07777),
            "run chmod 600 " + path.string());
    }
    if (st.st_uid != options_.uid) {
      error("private_key",
            fmt::format("{} is owned by {}, not by {} who runs tlsgate", path.string(),
                        user_name(st.st_uid), user_name(options_.uid)),
            fmt::format("run chown {} {}", user_name(options_.uid), path.string()));
    }
  }
  if (policy_.private_key_password && is_command_password(*policy_.private_key_password)) {
    warning("private_key_password",
            "is a $(command); `check` does not run it, so the key was not read",
            "run `tlsgate serve --expand-commands` to use it");
    return;
  }
  auto key = pki::load_private_key(path, policy_.private_key_password,
                                   policy_key_password_advice(policy_));
  if (!key) {
    error("private_key", key.error().message(), "");
    return;
  }
  key_ = std::move(*key);
}

void PolicyAuditor::check_certificate() {
  const auto& path = policy_.public_certificate;
  if (!file_exists(path)) {
    if (use_.incoming || was_set("public_certificate") || key_) {
      error("public_certificate", path.string() + ": no such file",
            "put the certificate (leaf first, then its chain) there, or set " +
                key("public_certificate"));
    }
    return;
  }
  auto certs = pki::load_certificates(path);
  if (!certs) {
    error("public_certificate", certs.error().message(), "");
    return;
  }
  certs_ = std::move(*certs);
  const X509* leaf = certs_.front().get();
  if (key_) {
    if (auto st =
            pki::check_key_matches(leaf, key_.get(), path.string(), policy_key_source(policy_));
        !st) {
      error("private_key", st.error().message(), "");
    }
  }
  for (size_t i = 0; i < certs_.size(); ++i) {
    check_certificate_validity(certs_[i].get(), path.string());
  }
  auto info = pki::describe(leaf, clock_);
  auto has_eku = [&](const char* eku) {
    return info.extended_key_usage.empty() ||
           std::find(info.extended_key_usage.begin(), info.extended_key_usage.end(), eku) !=
               info.extended_key_usage.end();
  };
  check_curve_offered(info);
  check_suites_usable(info);
  if (use_.incoming && !has_eku("serverAuth")) {
    error("public_certificate",
          fmt::format("certificate {} in {} lacks the serverAuth extended key usage; clients will "
                      "refuse it",
                      info.subject, path.string()),
          "issue it for servers (tlsgate cert issue --server)");
  }
  if (use_.outgoing && !use_.incoming && !has_eku("clientAuth")) {
    error("public_certificate",
          fmt::format("certificate {} in {} lacks the clientAuth extended key usage; servers will "
                      "refuse it",
                      info.subject, path.string()),
          "issue it for clients (tlsgate cert issue --client)");
  }
}

// In TLS 1.2 OpenSSL signs with an ECDSA key only when its curve is also a
// configured group; a groups list without it silently breaks 1.2 clients.
// A TLSv1.2 suite names how the server proves itself (ECDSA or RSA) and how
// keys are agreed: a list with no suite the certificate's key can sign for
// (NULL-SHA, anonymous ADH, RSA suites with an EC key) makes every TLSv1.2
// handshake fail with "no shared cipher", though each name is valid.
void PolicyAuditor::check_suites_usable(const pki::CertificateInfo& info) {
  auto versions = resolve_versions(policy_.tls_versions);
  if (!versions || versions->min_version > TLS1_2_VERSION) return;
  auto ciphers = resolve_ciphers(policy_.ciphers, *versions);
  if (!ciphers || ciphers->tls12.empty()) return;  // check_policy_values() says why
  const int auth = info.key_type == "RSA" ? NID_auth_rsa
                   : info.key_type == "EC" || info.key_type == "ED25519" || info.key_type == "ED448"
                       ? NID_auth_ecdsa
                       : NID_undef;
  if (auth == NID_undef) return;
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), ciphers->tls12.c_str()) != 1) {
    pki::clear_openssl_errors();
    return;
  }
  const STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    const int kx = SSL_CIPHER_get_kx_nid(c);
    const bool needs_psk = kx == NID_kx_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk ||
                           kx == NID_kx_rsa_psk || kx == NID_kx_srp;
    if (SSL_CIPHER_get_auth_nid(c) == auth &&  // TLSv1.3 suites say NID_auth_any
        SSL_CIPHER_get_bits(c, nullptr) > 0 && !needs_psk) {
      return;
    }
  }
  const bool tls13 = versions->max_version >= TLS1_3_VERSION;
  error("ciphers",
        fmt::format("names no TLSv1.2 suite the certificate's {} key can serve (each needs {} "
                    "authentication, a cipher and no PSK); {}",
                    info.key_type, auth == NID_auth_rsa ? "RSA" : "ECDSA",
                    tls13 ? "TLSv1.2 clients cannot complete a handshake"
                          : "no client can complete a handshake"),
        fmt::format(
            "add a suite such as {}{}",
            auth == NID_auth_rsa ? "ECDHE-RSA-AES128-GCM-SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256",
            tls13 ? ", or allow only TLSv1.3" : ""));
}

void PolicyAuditor::check_curve_offered(const pki::CertificateInfo& info) {
  if (info.key_type != "EC" || info.key_curve.empty()) return;
  bool tls12 = std::any_of(policy_.tls_versions.begin(), policy_.tls_versions.end(),
                           [](const std::string& v) { return util::iequals(v, "TLSv1.2"); });
  if (!tls12) return;
  static const std::map<std::string, std::vector<std::string>> kAliases = {
      {"P-256", {"p-256", "prime256v1", "secp256r1"}},
      {"P-384", {"p-384", "secp384r1"}},
      {"P-521", {"p-521", "secp521r1"}}};
  auto aliases = kAliases.find(info.key_curve);
  if (aliases == kAliases.end()) return;
  for (const auto& g : policy_.groups) {
    const auto& names = aliases->second;
    if (std::find(names.begin(), names.end(), util::to_lower(g)) != names.end()) return;
  }
  error("groups",
        fmt::format("does not list {}, the curve of the certificate's key; TLSv1.2 clients cannot "
                    "complete a handshake",
                    info.key_curve),
        "add " + info.key_curve + " to " + key("groups") + ", or allow only TLSv1.3");
}

void PolicyAuditor::check_certificate_validity(const X509* cert, const std::string& where) {
  auto info = pki::describe(cert, clock_);
  std::string what =
      fmt::format("certificate {} (serial {}) in {}", info.subject, info.serial_hex, where);
  bool in_trusted = where == policy_.trusted_dir.string();
  std::string suffix = in_trusted ? "trusted_dir" : "public_certificate";
  std::string renew = in_trusted
                          ? "replace it with the CA's current certificate"
                          : "issue a new certificate (tlsgate cert issue) and replace the file";
  if (info.expired) {
    error(suffix, fmt::format("{} expired on {}", what, pki::format_time(info.not_after)), renew);
  } else if (info.not_yet_valid) {
    error(suffix, fmt::format("{} is not valid before {}", what, pki::format_time(info.not_before)),
          "check this machine's clock, or wait until then");
  } else if (info.days_left < options_.expiry_warning_days) {
    warning(suffix,
            fmt::format("{} expires in {} days, on {}", what, info.days_left,
                        pki::format_time(info.not_after)),
            "renew it before then; tlsgate picks up the new files without a restart");
  }
}

void PolicyAuditor::check_trusted() {
  const auto& dir = policy_.trusted_dir;
  bool needed =
      !policy_.trust_all && (use_.outgoing || policy_.client_auth != config::ClientAuth::kNone);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (needed || was_set("trusted_dir")) {
      error("trusted_dir", "folder " + dir.string() + " does not exist",
            "create it and put the CA certificates that issue your peers' certificates into it");
    }
    return;
  }
  auto trusted = pki::load_certificates_dir(dir);
  if (!trusted) {
    error("trusted_dir", trusted.error().message(), "");
    return;
  }
  trusted_ = std::move(*trusted);
  trusted_loaded_ = true;
  for (const auto& ca : trusted_) check_certificate_validity(ca.get(), dir.string());
  if (!trusted_.empty() || !needed) return;
  std::string problem = "folder " + dir.string() + " is empty";
  std::string fix = "put the CA certificate that issues your peers' certificates into it";
  if (use_.outgoing) {
    error("trusted_dir", problem + ": the backend's certificate cannot be verified", fix);
  } else if (policy_.client_auth == config::ClientAuth::kRequire) {
    error("trusted_dir", problem + ": with client_auth=REQUIRE every client will be refused", fix);
  } else {
    warning("trusted_dir", problem + ": a client that presents a certificate will be refused", fix);
  }
}

void PolicyAuditor::check_own_chain() {
  if (certs_.empty() || trusted_.empty()) return;
  std::vector<pki::X509Ptr> untrusted;
  for (size_t i = 1; i < certs_.size(); ++i) untrusted.push_back(pki::up_ref(certs_[i].get()));
  pki::VerifyOptions opts;
  opts.at = clock_.now();
  auto st = pki::verify_chain(certs_.front().get(), untrusted, trusted_, {}, opts);
  if (st) return;
  // Peers of a mutual-TLS channel (cluster, backup) verify us with the same
  // trust; elsewhere a server certificate from another CA can be intended.
  bool mutual = policy_.client_auth == config::ClientAuth::kRequire && use_.outgoing;
  std::string problem = "own certificate does not verify against " + policy_.trusted_dir.string() +
                        ": " + st.error().message();
  std::string fix = "put the CA that issued " + policy_.public_certificate.string() + " into " +
                    policy_.trusted_dir.string();
  if (mutual || policy_.scope == "cluster" || policy_.scope == "backup") {
    error("public_certificate", problem, fix);
  } else {
    warning("public_certificate", problem, fix + " if peers are to trust the same CA");
  }
}

// Checks that read no key material: CRLs, names and identities (algorithm
// names and pins are check_policy_values()'s, in config_audit.cc).

void PolicyAuditor::check_revoked() {
  const auto& dir = policy_.revoked_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (use_.incoming || was_set("revoked_dir")) {
      error("revoked_dir", "folder " + dir.string() + " does not exist",
            "create it (mkdir -m 755 " + dir.string() + "), even if it stays empty");
    }
    return;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec) || entry.path().filename().string().front() == '.') continue;
    auto crls = pki::load_crls(entry.path());
    if (!crls) {
      error("revoked_dir", crls.error().message(), "");
      continue;
    }
    for (const auto& crl : *crls) {
      const std::string issuer = pki::name_to_string(X509_CRL_get_issuer(crl.get()));
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      time_t now = std::chrono::system_clock::to_time_t(clock_.now());
      if (next != nullptr && X509_cmp_time(next, &now) < 0) {
        bool reject = policy_.stale_crl == config::StaleCrl::kReject;
        error("revoked_dir",
              fmt::format("CRL {} from {} is stale: its nextUpdate {} has passed; {}: {}",
                          entry.path().string(), issuer,
                          pki::format_time(pki::to_system_time(next)), key("stale_crl"),
                          reject ? "REJECT refuses every peer with a certificate from that CA"
                                 : "WARN still uses it (the certificates it lists stay "
                                   "refused), but certificates revoked since get in"),
              "fetch a fresh CRL from the CA and replace the file; tlsgate reloads it");
      }
      const X509* signer = nullptr;
      for (const auto& ca : trusted_) {
        if (X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl.get())) == 0) {
          signer = ca.get();
        }
      }
      if (trusted_loaded_ && signer == nullptr) {
        warning("revoked_dir",
                fmt::format("CRL {} is from {}, which is not in {}; it cannot be checked",
                            entry.path().string(), issuer, policy_.trusted_dir.string()),
                "add that CA to the trusted folder, or remove the CRL");
      } else if (signer != nullptr && X509_CRL_verify(crl.get(), X509_get0_pubkey(signer)) != 1) {
        error("revoked_dir",
              fmt::format("CRL {} does not carry a valid signature of {}", entry.path().string(),
                          issuer),
              "fetch the CRL again from the CA");
      }
      X509_REVOKED* revoked = nullptr;
      if (!certs_.empty() &&
          X509_CRL_get0_by_cert(crl.get(), &revoked, certs_.front().get()) == 1) {
        error(
            "public_certificate",
            fmt::format("certificate {} is revoked by {}",
                        pki::describe(certs_.front().get(), clock_).subject, entry.path().string()),
            "issue a new certificate and replace " + policy_.public_certificate.string());
      }
    }
  }
}

void PolicyAuditor::check_names() {
  if (certs_.empty()) return;
  const X509* leaf = certs_.front().get();
  auto info = pki::describe(leaf, clock_);
  for (const auto& [listen_key, host] : use_.listen_hosts) {
    if (covers(leaf, host)) continue;
    error("public_certificate",
          fmt::format("certificate {} does not name {}, the host of {} (it names {})", info.subject,
                      host, listen_key, names_of(info)),
          fmt::format("reissue it with that name too (tlsgate cert issue ... {})", host));
  }
  // known_peers (tls/known_peers.h): entries that can never match, and
  // our own certificate, which peers with the same list (nodes sharing this
  // config) check by the same rule.
  for (const auto& peer : policy_.known_peers) {
    std::string host = peer_host(peer);
    if (host == "*" || (host.find('*') != std::string::npos && !host.starts_with("*.")) ||
        host.find('*', 1) != std::string::npos) {
      warning("known_peers",
              fmt::format("entry \"{}\" can never match: '*' stands only for a whole left-most "
                          "label (*.cluster.example), never alone or inside a label",
                          peer),
              "write the names in full, or as *.DOMAIN");
    }
  }
  if (!policy_.known_peers.empty() && !peer_is_known(leaf, policy_.known_peers)) {
    warning("known_peers",
            fmt::format("certificate {} matches no entry of the list ({}); it names {}, so a "
                        "node with this list refuses a peer that presents it",
                        info.subject, util::join(policy_.known_peers, "; "), names_of(info)),
            "if the nodes share this certificate, add its names to the list, or reissue it with "
            "a name the list has");
  }
}

// What serve would refuse or could not do for ocsp_stapling.
// The files ACME reads at start: the CA's trust and the EAB key.
void PolicyAuditor::check_acme_files() {
  if (!policy_.acme()) return;
  if (!policy_.acme_ca_bundle.empty()) {
    if (auto certs = pki::load_certificates(policy_.acme_ca_bundle); !certs) {
      error("acme_ca_bundle", certs.error().message(),
            "give the PEM file of the CA that signed the ACME server's HTTPS certificate");
    }
  }
  if (!policy_.acme_eab_hmac_file.empty()) {
    const auto& file = policy_.acme_eab_hmac_file;
    if (auto text = util::read_file(file); !text) {
      error("acme_eab_hmac_file", text.error().message(), "put the key the CA gave you there");
    } else if (auto key = pki::decode_eab_hmac_key(*text, file.string()); !key) {
      error("acme_eab_hmac_file", key.error().message(), "");
    }
  }
}

void PolicyAuditor::check_stapling() {
  if (!policy_.ocsp_stapling || !use_.incoming || certs_.empty()) return;
  const X509* leaf = certs_.front().get();
  const std::string cert =
      fmt::format("certificate {} (serial {}) in {}", pki::subject_of(leaf),
                  pki::serial_to_hex(leaf), policy_.public_certificate.string());
  if (!policy_.ocsp_responder.empty()) {
    if (auto url = util::parse_http_url(policy_.ocsp_responder); !url) {
      error("ocsp_responder", url.error().message(), "give the responder's http:// URL");
    }
  } else if (pki::ocsp_urls(leaf).empty()) {
    error("ocsp_stapling", cert + " names no OCSP responder (no AIA OCSP URL)",
          "set " + key("ocsp_responder") + ", or set " + key("ocsp_stapling") + "=false");
  }
  const X509* issuer = pki::find_issuer(leaf, certs_);
  if (issuer == nullptr) issuer = pki::find_issuer(leaf, trusted_);
  // The response a restart would staple at once, if still good.
  const auto cached = config_.server.state_dir / "ocsp" / pki::ocsp_cache_file_name(leaf);
  std::error_code ec;
  if (issuer != nullptr && std::filesystem::exists(cached, ec)) {
    auto der = util::read_file(cached);
    auto answer = der ? pki::verify_ocsp_response(*der, leaf, issuer, clock_.now())
                      : util::Result<pki::OcspAnswer>(util::fail(der.error()));
    if (!answer) {
      warning("ocsp_stapling",
              "the cached OCSP response " + cached.string() +
                  " cannot be stapled: " + answer.error().message(),
              "none: the gate fetches a fresh one at start, and staples nothing until the "
              "responder answers");
    } else if (answer->status != pki::OcspAnswer::Status::kGood) {
      warning("ocsp_stapling",
              "the cached OCSP response " + cached.string() + " says " + cert + " is " +
                  pki::status_name(answer->status),
              "replace the certificate");
    }
  }
  if (issuer == nullptr) {
    warning("ocsp_stapling",
            "the issuer of " + cert + " is neither in that file nor in " +
                policy_.trusted_dir.string() +
                ": OCSP responses cannot be verified, so nothing "
                "will be stapled",
            "append the issuing CA's certificate to " + policy_.public_certificate.string());
  }
}

void PolicyAuditor::check_identities() {
  // Under client_auth=NONE no client sends a certificate, and a policy that
  // names identities or pins refuses every client without one
  // (tls/peer_identity.cc): not "no effect" but no client at all.
  if (policy_.client_auth == config::ClientAuth::kNone && (use_.incoming || !use_.outgoing)) {
    for (const auto& [suffix, set] :
         {std::pair{"allowed_identities", !policy_.allowed_identities.empty()},
          std::pair{"pinned_certs", !policy_.pinned_certs.empty()}}) {
      if (!set) continue;
      std::string problem =
          "client_auth is NONE, so clients send no certificate, and a policy "
          "with " +
          std::string(suffix) + " refuses a client without one: ";
      std::string fix = "set " + key("client_auth") + "=REQUIRE, or remove " + key(suffix);
      if (use_.incoming) {
        error(suffix, problem + "every client is refused", fix);
      } else {
        warning(suffix, problem + "every client would be refused", fix);
      }
    }
  }
  // Settings that act only in a use this policy does not have: said, never ignored.
  if (!policy_.verify_hostname && !use_.outgoing) {
    warning("verify_hostname",
            "=false has no effect: no connector names this policy as its upstream_ssl_policy, so "
            "it dials no server whose name could be checked",
            "remove it");
  }
  if (!policy_.ocsp_responder.empty() && !policy_.ocsp_stapling &&
      policy_.revocation_checks == config::RevocationChecks::kNone) {
    warning(
        "ocsp_responder",
        "has no effect: neither " + key("ocsp_stapling") + " nor " + key("revocation_checks") +
            " asks a responder anything",
        "set " + key("ocsp_stapling") + "=true or " + key("revocation_checks") + ", or remove it");
  }
}

}  // namespace tlsgate::tls
