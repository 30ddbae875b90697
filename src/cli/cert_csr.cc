// `tlsgate cert csr --out DIR [--server] [--client] [--rsa BITS] [--key-format pkcs8|pkcs1]
//  [--reuse-key] [--force] NAME...`
//
// Writes DIR/request.csr (0644) for an outside CA and DIR/private.key (0600),
// together or not at all (util::write_files_atomic). Existing files are kept
// unless --force; --reuse-key signs the new request with DIR/private.key (a
// renewal that keeps the pin) and replaces only request.csr.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/csr.h"
#include "pki/encode.h"
#include "pki/private_key_loader.h"
#include "pki/subject_names.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CertCsrOptions {
  std::filesystem::path out;
  std::vector<std::string> names;
  bool server = false;
  bool client = false;
  KeyOptions key;
  bool reuse_key = false;
  bool force = false;
};

int run_csr(const CertCsrOptions& o) {
  auto choice = choose_key(o.key, o.reuse_key);
  if (!choice) return report_error(choice.error().message(), kUsage);
  pki::CsrRequest req;
  req.names = o.names;
  req.server = o.server || !o.client;
  req.client = o.client;
  req.key = choice->spec;
  if (auto kinds = pki::classify_names(o.names); !kinds) {
    return report_error(kinds.error().message(), kUsage);
  }
  auto key_path = o.out / "private.key";
  auto csr_path = o.out / "request.csr";
  std::error_code ec;
  if (o.reuse_key) {
    auto key = pki::load_private_key(key_path, std::nullopt, cannot_read_encrypted());
    if (!key) return report_error(key.error().message(), kFailed);
    req.existing_key = std::move(*key);
  } else if (!o.force) {
    for (const auto& p : {key_path, csr_path}) {
      if (std::filesystem::exists(p, ec)) {
        return report_error(p.string() +
                                " exists; pass --force to replace it, or --reuse-key to make a "
                                "new request with the same key",
                            kFailed);
      }
    }
  }
  std::filesystem::create_directories(o.out, ec);
  if (ec) return report_error("cannot create " + o.out.string() + ": " + ec.message(), kFailed);
  auto csr = pki::create_csr(req);
  if (!csr) return report_error(csr.error().message(), kFailed);
  auto pem = pki::csr_pem(csr->request.get());
  if (!pem) return report_error(pem.error().message(), kFailed);
  if (o.reuse_key) {
    if (auto st = util::write_file_atomic(csr_path, *pem, 0644); !st) {
      return report_error(st.error().message(), kFailed);
    }
  } else {
    auto key_pem = pki::encode_private_key(csr->key.get(), choice->format);
    if (!key_pem) {
      return report_error(key_pem.error().prefixed(key_path.string()).message(), kFailed);
    }
    // Both or neither: a new key without its request (or an old request whose key was just
    // replaced) is of no use to anyone.
    if (auto st = util::write_files_atomic({{key_path, *key_pem, 0600}, {csr_path, *pem, 0644}});
        !st) {
      return report_error(st.error().message(), kFailed);
    }
  }
  std::printf("request for %s written: %s, %s%s\n", util::join(o.names, ", ").c_str(),
              csr_path.c_str(), key_path.c_str(), o.reuse_key ? " (kept)" : "");
  return kOk;
}

}  // namespace

void add_cert_csr(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertCsrOptions>();
  auto* cmd = cert.add_subcommand(
      "csr",
      "Make a certificate signing request for an outside CA: DIR/request.csr and "
      "DIR/private.key");
  cmd->add_option("--out", opts->out, "Folder to write request.csr and private.key into")
      ->required();
  cmd->add_flag("--server", opts->server, "Ask for serverAuth (the default without --client)");
  cmd->add_flag("--client", opts->client, "Ask for clientAuth (with --server: both)");
  add_key_options(*cmd, opts->key);
  cmd->add_flag("--reuse-key", opts->reuse_key,
                "Sign the request with the key in DIR/private.key (renewal that keeps the pin)");
  cmd->add_flag("--force", opts->force, "Replace an existing request.csr and private.key");
  cmd->add_option("names", opts->names,
                  "DNS names, IP addresses, emails or URIs; the first is also the subject CN")
      ->required();
  cmd->callback([opts, &out] { out.code = run_csr(*opts); });
}

}  // namespace tlsgate::cli
