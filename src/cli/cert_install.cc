// `tlsgate cert install --scope NAME --cert C --key K [--key-password-file F] [--ca CA]
// [--base DIR]`: an encrypted key is checked with its password and copied as it is (the
// policy's private_key_password opens it in the gate).
#include <cstdio>

#include <fmt/format.h>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/layout.h"
#include "pki/loader.h"
#include "pki/served_validity.h"

namespace tlsgate::cli {
namespace {

// Installed all the same (a test setup may want it; a clock may be wrong),
// but said at once: served, it is every client's refusal.
void warn_if_refused_soon(const pki::InstallRequest& req, const std::filesystem::path& dir) {
  auto certs = pki::load_certificates(dir / "public.crt");
  if (!certs || certs->empty()) return;
  auto info = pki::describe(certs->front().get(), util::SystemClock::instance());
  auto notice = pki::served_validity(info, 30);
  if (!notice) return;
  std::string fix = info.not_yet_valid ? notice->fix
                                       : "get a renewed certificate and install it with "
                                         "tlsgate cert install --scope " +
                                             req.scope;
  print_warning(fmt::format("scope {}: installed {} (serial {}) from {} {}; {}", req.scope,
                            info.subject, info.serial_hex, req.cert.string(), notice->problem,
                            fix));
}

}  // namespace

void add_cert_install(CLI::App& cert, Outcome& out) {
  auto req = std::make_shared<pki::InstallRequest>();
  auto password_file = std::make_shared<std::optional<std::filesystem::path>>();
  auto* cmd = cert.add_subcommand(
      "install",
      "Lay out certificates/SCOPE/{private.key,public.crt,trusted/,revoked/} for a policy");
  cmd->add_option("--scope", req->scope, "Policy scope, e.g. bolt, https, cluster, pg")->required();
  cmd->add_option("--cert", req->cert, "Certificate (leaf first, then chain)")->required();
  cmd->add_option("--key", req->key, "Its private key")->required();
  cmd->add_option("--key-password-file", *password_file, "Password of an encrypted --key");
  cmd->add_option("--ca", req->ca, "CA certificate(s) to trust; default: the certificate itself");
  cmd->add_option("--base", req->base, "Folder that holds certificates/")->capture_default_str();
  cmd->callback([req, password_file, &out] {
    req->key_password_advice = pass_password_with("--key-password-file");
    if (*password_file) {
      auto pw = read_password(*password_file, "", false);
      if (!pw) {
        out.code = report_error(pw.error().message(), kUsage);
        return;
      }
      req->key_password = std::move(*pw);
    }
    auto dir = pki::install(*req);
    if (!dir) {
      out.code = report_error(dir.error().message(), kFailed);
      return;
    }
    warn_if_refused_soon(*req, *dir);
    std::printf(
        "installed for scope %s in %s:\n  private.key (0400), public.crt (0644), trusted/, "
        "revoked/\n"
        "enable it with: ssl.policy.%s.enabled=true\n",
        req->scope.c_str(), dir->c_str(), req->scope.c_str());
    out.code = kOk;
  });
}

}  // namespace tlsgate::cli
