// `tlsgate cert ca --out DIR [--name NAME] [--rsa BITS] [--days N] [--force]`
//
// ca.key and ca.crt are written together or not at all. The revocation state
// of the folder (revocations.txt, crlnumber, ca.crl: `cert revoke`/`cert crl`)
// belongs to the CA that made it, so a new CA moves it aside as
// FILE.replaced-<UTC time> and says so: kept for the record (the old CRL still
// serves clients that trust the old CA), but never signed again by the new one.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CertCaOptions {
  std::filesystem::path out;
  std::string name = "tlsgate CA";
  int rsa_bits = 0;
  int days = 3650;
  bool force = false;
};

// "20261207T124812Z", for the names of moved-aside files.
std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Moves the revocation state of the replaced CA aside; prints what moved.
int move_old_revocation_state(const std::filesystem::path& dir) {
  const std::string suffix = ".replaced-" + utc_stamp();
  std::vector<std::string> moved;
  for (const char* name : {"revocations.txt", "crlnumber", "ca.crl"}) {
    auto from = dir / name;
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(from, ec))) continue;
    auto to = dir / (std::string(name) + suffix);
    std::filesystem::rename(from, to, ec);
    if (ec) {
      return report_error("the new CA is written, but " + from.string() +
                              " of the replaced CA cannot be moved aside (" + ec.message() +
                              "); remove it by hand before `tlsgate cert revoke` or `cert crl`",
                          kFailed);
    }
    moved.push_back(from.string() + " -> " + to.filename().string());
  }
  if (!moved.empty()) {
    std::printf(
        "the replaced CA's revocation state was moved aside (the new CA has revoked nothing): "
        "%s\n",
        util::join(moved, ", ").c_str());
  }
  return kOk;
}

int run_ca(const CertCaOptions& o) {
  if (auto st = pki::check_common_name(o.name, "--name"); !st) {
    return report_error(st.error().message(), kUsage);
  }
  pki::CaRequest req;
  req.name = o.name;
  req.days = o.days;
  if (o.rsa_bits != 0) {
    auto spec = pki::rsa_key_spec(o.rsa_bits);
    if (!spec) return report_error(spec.error().message(), kUsage);
    req.key = *spec;
  }
  auto key_path = o.out / "ca.key";
  auto crt_path = o.out / "ca.crt";
  std::error_code ec;
  if (!o.force && std::filesystem::exists(key_path, ec)) {
    return report_error(key_path.string() +
                            " exists; a new CA would orphan every certificate the old one "
                            "issued; pass --force to replace it",
                        kFailed);
  }
  std::filesystem::create_directories(o.out, ec);
  if (ec) return report_error("cannot create " + o.out.string() + ": " + ec.message(), kFailed);

  auto ca = pki::create_ca(req, util::SystemClock::instance());
  if (!ca) return report_error(ca.error().message(), kFailed);
  auto pem = pki::certificate_pem(ca->cert.get());
  if (!pem) return report_error(pem.error().message(), kFailed);
  auto key_pem = pki::private_key_pem(ca->key.get());
  if (!key_pem) return report_error(key_pem.error().prefixed(key_path.string()).message(), kFailed);
  // Both or neither: a lone ca.key would make the next run refuse without --force.
  if (auto st = util::write_files_atomic({{key_path, *key_pem, 0600}, {crt_path, *pem, 0644}});
      !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::printf("CA \"%s\" written: %s (certificate), %s (key, keep it secret)\n", o.name.c_str(),
              crt_path.c_str(), key_path.c_str());
  return move_old_revocation_state(o.out);
}

}  // namespace

void add_cert_ca(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertCaOptions>();
  auto* cmd =
      cert.add_subcommand("ca", "Create a certificate authority: DIR/ca.crt and DIR/ca.key");
  cmd->add_option("--out", opts->out, "Folder to write ca.crt and ca.key into")->required();
  cmd->add_option("--name", opts->name,
                  "The CA's common name: at most 64 characters, no control characters")
      ->capture_default_str();
  cmd->add_option("--rsa", opts->rsa_bits,
                  "RSA key of BITS (2048, 3072, 4096) instead of ECDSA P-256");
  cmd->add_option("--days", opts->days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  cmd->add_flag("--force", opts->force,
                "Replace an existing CA key (its revocations.txt, crlnumber and ca.crl are "
                "moved aside as FILE.replaced-<UTC time>)");
  cmd->callback([opts, &out] { out.code = run_ca(*opts); });
}

}  // namespace tlsgate::cli
