// `tlsgate cert sign --ca DIR --out FILE [--server] [--client] [--days N] CSR`
//
// Our CA signs a request made elsewhere. Only the request's public key and
// subjectAltName are taken; the subject, validity and every other extension
// follow `cert issue`'s rules (pki/csr.h). FILE gets the leaf, then the CA's
// certificates from DIR/ca.crt.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "pki/csr.h"
#include "pki/encode.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CertSignOptions {
  std::filesystem::path ca;
  std::filesystem::path out;
  std::filesystem::path csr;
  bool server = false;
  bool client = false;
  int days = 397;
  bool force = false;
};

int run_sign(const CertSignOptions& o) {
  if (auto st = refuse_existing(o.out, o.force, "--out"); !st) {
    return report_error(st.error().message(), kFailed);
  }
  auto ca = load_ca_dir(o.ca);
  if (!ca) return report_error(ca.error().message(), kFailed);
  auto data = util::read_file(o.csr);
  if (!data) return report_error(data.error().message(), kFailed);
  auto req = pki::parse_csr(*data, o.csr.string());
  if (!req) return report_error(req.error().message(), kFailed);
  pki::SignRequest how;
  how.server = o.server || !o.client;
  how.client = o.client;
  how.days = o.days;
  how.ca_source = (o.ca / "ca.crt").string();
  how.on_warning = print_warning;
  auto cert = pki::sign_csr(req->get(), o.csr.string(), how, ca->certs.front().get(), ca->key.get(),
                            util::SystemClock::instance());
  if (!cert) return report_error(cert.error().message(), kFailed);
  std::vector<pki::X509Ptr> chain;
  for (const auto& c : ca->certs) chain.push_back(pki::up_ref(c.get()));
  auto pem = pki::chain_pem(cert->get(), chain);
  if (!pem) return report_error(pem.error().message(), kFailed);
  if (auto parent = o.out.parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  if (auto st = util::write_file_atomic(o.out, *pem, 0644); !st) {
    return report_error(st.error().message(), kFailed);
  }
  auto names = pki::requested_names(req->get(), o.csr.string());
  std::printf("signed %s for %s: %s (certificate, then the CA)\n", o.csr.c_str(),
              util::join(names.value_or(std::vector<std::string>{}), ", ").c_str(), o.out.c_str());
  return kOk;
}

}  // namespace

void add_cert_sign(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertSignOptions>();
  auto* cmd = cert.add_subcommand(
      "sign",
      "Sign a certificate request made elsewhere with a CA (only its names and key are "
      "taken from it)");
  cmd->add_option("--ca", opts->ca, "CA folder (holding ca.crt and ca.key)")->required();
  cmd->add_option("--out", opts->out, "File to write the certificate, then the CA, into")
      ->required();
  cmd->add_flag("--server", opts->server, "serverAuth (the default without --client)");
  cmd->add_flag("--client", opts->client, "clientAuth (with --server: both)");
  cmd->add_option("--days", opts->days,
                  "Validity in days (a certificate ends at the latest with its CA)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->add_flag("--force", opts->force, "Replace --out if it exists");
  cmd->add_option("csr", opts->csr, "The request (PEM or DER)")->required();
  cmd->callback([opts, &out] { out.code = run_sign(*opts); });
}

}  // namespace tlsgate::cli
