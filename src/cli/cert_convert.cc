// `tlsgate cert convert IN OUT [--to pem|der] [--password-file F] [--force]`
//
// OUT is never replaced without --force: `convert a.crt a.key` once turned a
// key into a copy of the certificate.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/convert.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CertConvertOptions {
  std::filesystem::path in;
  std::filesystem::path out;
  std::string to;
  std::optional<std::filesystem::path> password_file;
  bool force = false;
};

int run_convert(const CertConvertOptions& o) {
  std::string ext = util::to_lower(o.out.extension().string());
  pki::Encoding to = (ext == ".der" || ext == ".cer") ? pki::Encoding::kDer : pki::Encoding::kPem;
  if (!o.to.empty()) to = o.to == "der" ? pki::Encoding::kDer : pki::Encoding::kPem;

  if (auto st = refuse_existing(o.out, o.force, "OUT"); !st) {
    return report_error(st.error().message(), kFailed);
  }
  auto input = util::read_file(o.in);
  if (!input) return report_error(input.error().message(), kFailed);
  std::optional<util::Secret> password;
  if (o.password_file) {
    auto pw = read_password(o.password_file, "", false);
    if (!pw) return report_error(pw.error().message(), kUsage);
    password = *pw;
  }
  auto converted =
      pki::convert(*input, o.in.string(), to, password, pass_password_with("--password-file"));
  if (!converted) return report_error(converted.error().message(), kFailed);
  mode_t mode = converted->kind == pki::ObjectKind::kPrivateKey ? 0600 : 0644;
  if (auto st = util::write_file_atomic(o.out, converted->data, mode); !st) {
    return report_error(st.error().message(), kFailed);
  }
  const char* kind = converted->kind == pki::ObjectKind::kCertificate  ? "certificate"
                     : converted->kind == pki::ObjectKind::kPrivateKey ? "private key"
                                                                       : "CRL";
  std::printf("%s %s written as %s: %s\n", o.in.c_str(), kind,
              to == pki::Encoding::kDer ? "DER" : "PEM", o.out.c_str());
  return kOk;
}

}  // namespace

void add_cert_convert(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertConvertOptions>();
  auto* cmd = cert.add_subcommand(
      "convert", "Convert a certificate, key or CRL between PEM and DER (by OUT's extension)");
  cmd->add_option("in", opts->in, "Input file (PEM or DER, detected)")->required();
  cmd->add_option("out", opts->out, "Output file; .der/.cer means DER, anything else PEM")
      ->required();
  cmd->add_option("--to", opts->to, "Force the output format")
      ->check(CLI::IsMember({"pem", "der"}));
  cmd->add_option("--password-file", opts->password_file, "Password of an encrypted private key");
  cmd->add_flag("--force", opts->force, "Replace OUT if it exists");
  cmd->callback([opts, &out] { out.code = run_convert(*opts); });
}

}  // namespace tlsgate::cli
