// `tlsgate cert crl --ca DIR [--days N] [--out FILE] [--install-into DIR]`
//
// Re-signs the CA's CRL from DIR/revocations.txt with a new nextUpdate and
// the next CRL number: the command a cron job runs so the CRL never goes
// stale. --install-into writes it also into a policy's revoked/ folder, as
// REVOKED/<CA folder name>.crl, atomically, so a running gate reloads it.
// DIR/.lock is held while the number is taken and the CRL written, as
// `cert revoke` does (util/file_lock.h). A run that fails takes no number
// (publish_crl checks the targets first, cli/cert_support.h); only a signed
// CRL whose write fails uses one up.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "util/file_lock.h"

namespace tlsgate::cli {
namespace {

struct CertCrlOptions {
  std::filesystem::path ca;
  std::filesystem::path out;
  std::optional<std::filesystem::path> install_into;
  int days = 7;
};

int run_crl(const CertCrlOptions& o) {
  auto ca = load_ca_dir(o.ca);
  if (!ca) return report_error(ca.error().message(), kFailed);
  auto lock = util::FileLock::acquire(o.ca / ".lock");
  if (!lock) return report_error(lock.error().message(), kFailed);
  auto index = load_revocations(o.ca);
  if (!index) return report_error(index.error().message(), kFailed);
  CrlTargets targets{o.out.empty() ? o.ca / "ca.crl" : o.out, o.install_into, o.days};
  auto crl = publish_crl(o.ca, *ca, *index, targets);
  if (!crl) return report_error(crl.error().message(), kFailed);
  std::printf("CRL: %s\n", describe(*crl).c_str());
  return kOk;
}

}  // namespace

void add_cert_crl(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertCrlOptions>();
  auto* cmd = cert.add_subcommand(
      "crl",
      "Sign a fresh CRL of the CA's revocations (DIR/revocations.txt) with a new nextUpdate");
  cmd->add_option("--ca", opts->ca, "CA folder (holding ca.crt and ca.key)")->required();
  cmd->add_option("--days", opts->days, "Days until nextUpdate")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->add_option("--out", opts->out, "Where to write the PEM CRL (default: DIR/ca.crl)");
  cmd->add_option("--install-into", opts->install_into,
                  "Also write it into this folder (a policy's revoked/), as <CA folder name>.crl");
  cmd->callback([opts, &out] { out.code = run_crl(*opts); });
}

}  // namespace tlsgate::cli
