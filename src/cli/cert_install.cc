// `tlsgate cert install --scope NAME --cert C --key K [--ca CA] [--base DIR]`
#include <cstdio>

#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/layout.h"

namespace tlsgate::cli {

void add_cert_install(CLI::App& cert, Outcome& out) {
  auto req = std::make_shared<pki::InstallRequest>();
  auto* cmd = cert.add_subcommand(
      "install",
      "Lay out certificates/SCOPE/{private.key,public.crt,trusted/,revoked/} for a policy");
  cmd->add_option("--scope", req->scope, "Policy scope, e.g. bolt, https, cluster, pg")->required();
  cmd->add_option("--cert", req->cert, "Certificate (leaf first, then chain)")->required();
  cmd->add_option("--key", req->key, "Its private key")->required();
  cmd->add_option("--ca", req->ca, "CA certificate(s) to trust; default: the certificate itself");
  cmd->add_option("--base", req->base, "Folder that holds certificates/")->capture_default_str();
  cmd->callback([req, &out] {
    req->key_password_advice = cannot_read_encrypted(req->key.string());
    auto dir = pki::install(*req);
    if (!dir) {
      out.code = report_error(dir.error().message(), kFailed);
      return;
    }
    std::printf(
        "installed for scope %s in %s:\n  private.key (0400), public.crt (0644), trusted/, "
        "revoked/\n"
        "enable it with: ssl.policy.%s.enabled=true\n",
        req->scope.c_str(), dir->c_str(), req->scope.c_str());
    out.code = kOk;
  });
}

}  // namespace tlsgate::cli
