#include "tls/policy_auditor.h"

#include <pwd.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "pki/verifier.h"
#include "tls/password.h"
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
  check_algorithms();
  check_identities();
  if (!check_base_directory()) return;
  check_private_key();
  check_certificate();
  check_trusted();
  check_own_chain();
  check_revoked();
  check_names();
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

void PolicyAuditor::check_private_key() {
  const auto& path = policy_.private_key;
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
  auto key = pki::load_private_key(path, policy_.private_key_password);
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
            pki::check_key_matches(leaf, key_.get(), path.string(), policy_.private_key.string());
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

}  // namespace tlsgate::tls
