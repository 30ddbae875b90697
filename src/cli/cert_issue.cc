// `tlsgate cert issue --ca DIR --out DIR [--server] [--client] [--ocsp-signing] [--rsa BITS]
//  [--key-format pkcs8|pkcs1] [--days N] [--ocsp-url U]... [--crl-url U]... [--reuse-key]
//  [--force] [--ca-key pkcs11:URI [--pkcs11-module PATH] [--pin-file F]] NAME...`
//
// The CA must be valid now (an expired or not-yet-valid ca.crt is an error),
// and the certificate ends with the CA when --days would take it beyond
// (capped with a warning, not refused: see pki/issuer.h).
//
// --ca-key signs with a CA key on a PKCS#11 token (the CA certificate still
// DIR/ca.crt); the key never leaves the token.
//
// An existing DIR/private.key is never replaced silently: --reuse-key keeps
// it (a renewal that keeps the pin), --force replaces it. private.key and
// public.crt are replaced together or not at all (util::write_files_atomic).
//
// --key-format pkcs1 writes PKCS#1 (PEM label `RSA PRIVATE KEY`) (old stacks such as yaSSL); it
// needs an RSA key (--rsa BITS), and an EC key with pkcs1 is refused rather than written as SEC1.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "pki/loader.h"
#include "pki/pkcs11.h"
#include "pki/private_key_loader.h"
#include "pki/subject_names.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CertIssueOptions {
  std::filesystem::path ca;
  std::filesystem::path out;
  std::vector<std::string> names;
  bool server = false;
  bool client = false;
  bool ocsp_signing = false;
  std::vector<std::string> ocsp_urls;
  std::vector<std::string> crl_urls;
  KeyOptions key;
  int days = 397;
  bool reuse_key = false;
  bool force = false;
  TokenCaKey ca_key;  // uri empty: DIR/ca.key
};

int run_issue(const CertIssueOptions& o) {
  auto choice = choose_key(o.key, o.reuse_key);
  if (!choice) return report_error(choice.error().message(), kUsage);
  if (!o.ca_key.uri.empty() && !pki::is_pkcs11_uri(o.ca_key.uri)) {
    return report_error("--ca-key \"" + o.ca_key.uri +
                            "\": give a pkcs11: URI (pkcs11:token=LABEL;object=LABEL); a CA key "
                            "file is read from --ca DIR/ca.key",
                        kUsage);
  }
  auto ca = o.ca_key.uri.empty() ? load_ca_dir(o.ca) : load_ca_with_token_key(o.ca, o.ca_key);
  if (!ca) return report_error(ca.error().message(), kFailed);
  const std::string ca_source = (o.ca / "ca.crt").string();
  if (auto st =
          pki::check_ca_validity(ca->certs.front().get(), ca_source, util::SystemClock::instance());
      !st) {
    return report_error(st.error().message(), kFailed);
  }

  pki::CertRequest req;
  req.names = o.names;
  req.server = o.server || (!o.client && !o.ocsp_signing);
  req.client = o.client;
  req.ocsp_signing = o.ocsp_signing;
  req.ocsp_urls = o.ocsp_urls;
  req.crl_urls = o.crl_urls;
  req.days = o.days;
  req.ca_source = ca_source;
  req.on_warning = print_warning;
  for (const auto& url : o.ocsp_urls) {
    if (auto st = pki::check_extension_url(url, "--ocsp-url"); !st) {
      return report_error(st.error().message(), kUsage);
    }
  }
  for (const auto& url : o.crl_urls) {
    if (auto st = pki::check_extension_url(url, "--crl-url"); !st) {
      return report_error(st.error().message(), kUsage);
    }
  }
  req.key = choice->spec;
  auto key_path = o.out / "private.key";
  auto crt_path = o.out / "public.crt";
  std::error_code ec;
  if (!o.reuse_key && !o.force && std::filesystem::exists(key_path, ec)) {
    return report_error(key_path.string() +
                            " exists; --reuse-key renews with that key (the pin stays), "
                            "--force replaces it with a new one",
                        kFailed);
  }
  if (o.reuse_key) {
    auto key = pki::load_private_key(key_path, std::nullopt, cannot_read_encrypted());
    if (!key) return report_error(key.error().message(), kFailed);
    // A reused key meets the rules of a new one (and of `cert sign`).
    if (auto st = pki::check_leaf_key(key->get()); !st) {
      return report_error(key_path.string() + ": " + st.error().message() +
                              "; --force replaces it with a new key (ECDSA P-256, or --rsa 2048)",
                          kFailed);
    }
    req.existing_key = std::move(*key);
  }
  for (const auto& n : o.names) {
    if (auto st = pki::check_name_characters(n); !st) {
      return report_error(st.error().message(), kUsage);
    }
  }
  if (auto kinds = pki::classify_names(o.names); !kinds) {
    return report_error(kinds.error().message(), kUsage);
  }
  std::filesystem::create_directories(o.out, ec);
  if (ec) return report_error("cannot create " + o.out.string() + ": " + ec.message(), kFailed);

  auto issued = pki::issue_certificate(req, ca->certs.front().get(), ca->key.get(),
                                       util::SystemClock::instance());
  if (!issued) return report_error(issued.error().message(), kFailed);

  // public.crt holds the leaf and the chain up to (not including) a root.
  std::vector<pki::X509Ptr> chain;
  for (const auto& c : ca->certs) {
    if (X509_check_issued(c.get(), c.get()) != X509_V_OK) chain.push_back(pki::up_ref(c.get()));
  }
  auto pem = pki::chain_pem(issued->cert.get(), chain);
  if (!pem) return report_error(pem.error().message(), kFailed);
  auto key_pem = pki::encode_private_key(issued->key.get(), choice->format);
  if (!key_pem) return report_error(key_pem.error().prefixed(key_path.string()).message(), kFailed);
  // Both or neither: a new key next to the old certificate (or the reverse) serves nothing.
  if (auto st = util::write_files_atomic({{key_path, *key_pem, 0600}, {crt_path, *pem, 0644}});
      !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::vector<std::string> roles;
  if (req.server) roles.emplace_back("server");
  if (req.client) roles.emplace_back("client");
  if (req.ocsp_signing) roles.emplace_back("OCSP responder");
  std::string usage = roles.back();
  if (roles.size() > 1) {
    roles.pop_back();
    usage = util::join(roles, ", ") + " and " + usage;
  }
  std::printf("%s certificate for %s written: %s, %s\n", usage.c_str(),
              util::join(o.names, ", ").c_str(), crt_path.c_str(), key_path.c_str());
  return kOk;
}

}  // namespace

void add_cert_issue(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertIssueOptions>();
  auto* cmd = cert.add_subcommand(
      "issue", "Issue a certificate signed by a CA: DIR/public.crt and DIR/private.key");
  cmd->add_option("--ca", opts->ca, "CA folder (holding ca.crt and ca.key)")->required();
  cmd->add_option("--out", opts->out, "Folder to write public.crt and private.key into")
      ->required();
  cmd->add_flag(
      "--server", opts->server,
      "For a server: extendedKeyUsage serverAuth (the default without --client or --ocsp-signing)");
  cmd->add_flag("--client", opts->client,
                "For a client: extendedKeyUsage clientAuth (with --server: both)");
  cmd->add_flag(
      "--ocsp-signing", opts->ocsp_signing,
      "For a delegated OCSP responder of this CA (`openssl ocsp -rsigner`): "
      "extendedKeyUsage OCSPSigning and ocsp-nocheck (with --server/--client: those too)");
  cmd->add_option("--ocsp-url", opts->ocsp_urls,
                  "OCSP responder URL written into the certificate (Authority Information "
                  "Access); repeat for more")
      ->allow_extra_args(false);
  cmd->add_option("--crl-url", opts->crl_urls,
                  "URL where the CA publishes its CRL (CRL Distribution Points); repeat for more")
      ->allow_extra_args(false);
  add_key_options(*cmd, opts->key);
  cmd->add_option("--days", opts->days,
                  "Validity in days; a certificate never outlives its CA: it ends with the CA "
                  "when that comes first (with a warning)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->add_flag("--reuse-key", opts->reuse_key,
                "Keep the key in DIR/private.key (renewal that keeps the public-key pin); it "
                "must be RSA of 2048 bits or more, or ECDSA on P-256, P-384 or P-521");
  cmd->add_flag("--force", opts->force, "Replace an existing private.key in --out");
  cmd->add_option("--ca-key", opts->ca_key.uri,
                  "The CA's key on a PKCS#11 token, as an RFC 7512 URI "
                  "(pkcs11:token=LABEL;object=LABEL) instead of DIR/ca.key");
  cmd->add_option("--pkcs11-module", opts->ca_key.module,
                  "PKCS#11 module (.so) of the --ca-key token (default: $PKCS11_MODULE)");
  cmd->add_option("--pin-file", opts->ca_key.pin_file,
                  "File whose first line is the token's user PIN (default: $PKCS11_PIN)");
  cmd->add_option("names", opts->names,
                  "DNS names, IP addresses, emails or URIs; the first of at most 64 characters "
                  "is also the subject CN (a longer name is in the subjectAltName only)")
      ->required();
  cmd->callback([opts, &out] { out.code = run_issue(*opts); });
}

}  // namespace tlsgate::cli
