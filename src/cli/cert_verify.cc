// `tlsgate cert verify --ca FILE|DIR [--crl FILE|DIR] [--host NAME] [--purpose P] CERT...`
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/loader.h"

namespace tlsgate::cli {
namespace {

struct CertVerifyOptions {
  std::filesystem::path ca;
  std::vector<std::filesystem::path> crls;
  std::string host;
  std::string purpose = "any";
  std::vector<std::string> certs;
};

template <typename T>
util::Result<std::vector<T>> load_file_or_dir(
    const std::filesystem::path& p,
    util::Result<std::vector<T>> (*file_loader)(const std::filesystem::path&),
    util::Result<std::vector<T>> (*dir_loader)(const std::filesystem::path&)) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? dir_loader(p) : file_loader(p);
}

int run_verify(const CertVerifyOptions& o) {
  auto trusted = load_file_or_dir(o.ca, &pki::load_certificates, &pki::load_certificates_dir);
  if (!trusted) return report_error(trusted.error().message(), kUsage);
  std::vector<pki::X509CrlPtr> crls;
  for (const auto& p : o.crls) {
    auto loaded = load_file_or_dir(p, &pki::load_crls, &pki::load_crls_dir);
    if (!loaded) return report_error(loaded.error().message(), kUsage);
    for (auto& c : *loaded) crls.push_back(std::move(c));
  }
  pki::VerifyOptions opts;
  opts.check_crls = !o.crls.empty();
  if (!o.host.empty()) opts.hostname = o.host;
  opts.purpose = o.purpose == "server"   ? pki::VerifyOptions::Purpose::kServer
                 : o.purpose == "client" ? pki::VerifyOptions::Purpose::kClient
                                         : pki::VerifyOptions::Purpose::kAny;
  int code = kOk;
  for (const auto& file : o.certs) {
    auto certs = pki::load_certificates(file);
    if (!certs) {
      code = report_error(certs.error().message(), kFailed);
      continue;
    }
    std::vector<pki::X509Ptr> untrusted;
    for (size_t i = 1; i < certs->size(); ++i) untrusted.push_back(std::move((*certs)[i]));
    auto subject = pki::describe(certs->front().get(), util::SystemClock::instance()).subject;
    auto st = pki::verify_chain(certs->front().get(), untrusted, *trusted, crls, opts);
    if (st) {
      std::printf("%s: OK (%s)\n", file.c_str(), subject.c_str());
    } else {
      std::printf("%s: FAILED: %s\n", file.c_str(), st.error().message().c_str());
      code = kFailed;
    }
  }
  return code;
}

}  // namespace

void add_cert_verify(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertVerifyOptions>();
  auto* cmd = cert.add_subcommand("verify", "Verify certificates against trusted CAs (and CRLs)");
  cmd->add_option("--ca", opts->ca, "Trusted CA certificates: a PEM bundle or a trusted/ folder")
      ->required();
  cmd->add_option("--crl", opts->crls, "CRL file or revoked/ folder; checks the whole chain")
      ->allow_extra_args(false);
  cmd->add_option("--host", opts->host, "Also check that the certificate names this host or IP");
  cmd->add_option("--purpose", opts->purpose, "server, client or any")
      ->check(CLI::IsMember({"server", "client", "any"}))
      ->capture_default_str();
  cmd->add_option("certs", opts->certs, "Certificate files (leaf first, then its chain)")
      ->required();
  cmd->callback([opts, &out] { out.code = run_verify(*opts); });
}

}  // namespace tlsgate::cli
