// `tlsgate cert verify --ca FILE|DIR [--crl FILE|DIR] [--host NAME] [--purpose P] CERT...`
//
// Which certificate is verified, and with what chain (the help says the same):
// - The first file, and every file whose first certificate is not a CA
//   (basicConstraints CA:TRUE), names a leaf: that first certificate. Each
//   leaf gets one verdict line, "FILE: OK (SUBJECT)" or "FILE: FAILED: WHY".
// - Every other certificate is an untrusted intermediate for the leaf before
//   it (openssl verify -untrusted): the rest of the leaf's file, and the files
//   of CA certificates that follow it up to the next leaf. So `leaf.crt
//   inter.crt` is one chain, while `a/public.crt b/public.crt` (each a leaf
//   with its chain) are two leaves verified each on its own, as before. A CA
//   file after a leaf gets no verdict of its own; to check a CA certificate
//   itself, give it first.
// - In a file only CA certificates may follow the first. A CA first and a
//   non-CA later is a bundle out of order; a second non-CA is a second leaf
//   that would never be checked. Such a file fails, naming the culprits, and
//   nothing in it is verified: verifying the CA in its place passed revoked
//   and expired leaves.
// A chain never borrows from another leaf's file, so a leaf file that lacks
// its intermediate (and is not followed by it) fails, as it would in service.
// A file that cannot be read or is refused takes the CA files after it along
// (they were its chain). Exit 0 when every leaf verified, 1 when one failed or
// a certificate file is unreadable or refused, 2 on bad usage or unreadable
// --ca/--crl material.
#include <cstdio>
#include <filesystem>
#include <optional>

#include <openssl/x509v3.h>

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

// A leaf and the intermediates given with it; no certificates when its file
// was unreadable or refused (already reported, nothing left to verify).
struct Subject {
  std::string file;
  std::vector<pki::X509Ptr> certs;  // leaf first
};

template <typename T>
util::Result<std::vector<T>> load_file_or_dir(
    const std::filesystem::path& p,
    util::Result<std::vector<T>> (*file_loader)(const std::filesystem::path&),
    util::Result<std::vector<T>> (*dir_loader)(const std::filesystem::path&)) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? dir_loader(p) : file_loader(p);
}

// basicConstraints CA:TRUE, as CertificateInfo::is_ca, without describing the
// whole certificate (pins, fingerprints, names) for each of these questions.
bool is_ca(const X509* cert) {
  return (X509_get_extension_flags(pki::unconst(cert)) & EXFLAG_CA) != 0;
}

// Why the certificates of one file are not a leaf followed by its chain; "" when they are.
std::string order_problem(const std::vector<pki::X509Ptr>& certs) {
  auto named = [&](size_t i) {
    return "certificate " + std::to_string(i + 1) + " (" + pki::subject_of(certs[i].get()) + ")";
  };
  for (size_t i = 1; i < certs.size(); ++i) {
    if (is_ca(certs[i].get())) continue;
    if (is_ca(certs.front().get())) {
      return "out of order: " + named(0) + " is a CA but " + named(i) +
             " is not; put the leaf first, then its chain";
    }
    return named(i) + " is not a CA, so it cannot be in the chain of " + named(0) +
           "; give each leaf a file of its own";
  }
  return "";
}

bool verify_subject(Subject& s, const std::vector<pki::X509Ptr>& trusted,
                    const std::vector<pki::X509CrlPtr>& crls, const pki::VerifyOptions& opts) {
  std::vector<pki::X509Ptr> untrusted;
  for (size_t i = 1; i < s.certs.size(); ++i) untrusted.push_back(std::move(s.certs[i]));
  const X509* leaf = s.certs.front().get();
  auto st = pki::verify_chain(leaf, untrusted, trusted, crls, opts);
  if (st) {
    std::printf("%s: OK (%s)\n", s.file.c_str(), pki::subject_of(leaf).c_str());
  } else {
    std::printf("%s: FAILED: %s\n", s.file.c_str(), st.error().message().c_str());
  }
  return static_cast<bool>(st);
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
  // Verdicts come in the order of the files: a leaf is verified once the next one starts.
  std::optional<Subject> current;
  auto finish = [&] {
    if (current && !current->certs.empty() && !verify_subject(*current, *trusted, crls, opts)) {
      code = kFailed;
    }
    current.reset();
  };
  for (const auto& file : o.certs) {
    auto certs = pki::load_certificates(file);
    if (!certs) {
      finish();
      code = report_error(certs.error().message(), kFailed);
      current = Subject{file, {}};
      continue;
    }
    if (auto problem = order_problem(*certs); !problem.empty()) {
      finish();
      std::printf("%s: FAILED: %s\n", file.c_str(), problem.c_str());
      code = kFailed;
      current = Subject{file, {}};
      continue;
    }
    if (current && is_ca(certs->front().get())) {
      if (!current->certs.empty()) {
        for (auto& c : *certs) current->certs.push_back(std::move(c));
      }
      continue;
    }
    finish();
    current = Subject{file, std::move(*certs)};
  }
  finish();
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
  cmd->add_option("certs", opts->certs,
                  "Certificate files (leaf first, then its chain). A leaf is the first "
                  "certificate of the first file and of each file that starts with a non-CA; "
                  "the rest of its file and the CA-only files after it are its untrusted "
                  "intermediates (as openssl verify -untrusted). One verdict per leaf")
      ->required();
  cmd->footer(
      "Examples:\n"
      "  tlsgate cert verify --ca root.crt leaf.crt intermediate.crt    one leaf, its chain "
      "from the second file\n"
      "  tlsgate cert verify --ca ca/ca.crt a/public.crt b/public.crt   two leaves, each with "
      "its own chain\n"
      "A file with a CA before a non-CA certificate is out of order and fails: put the leaf "
      "first.\n"
      "Exit codes: 0 every leaf verified, 1 one failed or a certificate file was unreadable or "
      "out of order, 2 bad usage or unreadable --ca or --crl.");
  cmd->callback([opts, &out] { out.code = run_verify(*opts); });
}

}  // namespace tlsgate::cli
