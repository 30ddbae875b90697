// `tlsgate cert trust install|uninstall --ca FILE [--system] [--nss] [--java] [--root DIR]
//  [--name NAME]`: the `mkcert -install` of tlsgate.
//
// Each store is touched only with the flag that names it, and each step
// prints what it changed and the command that undoes it:
//   --system  ROOT/usr/local/share/ca-certificates/NAME.crt, then
//             update-ca-certificates (with --root, its folders all point under
//             ROOT, and ROOT/etc/ssl/certs and ROOT/etc/ca-certificates.conf
//             are created when missing)
//   --nss     $HOME/.pki/nssdb (sql:, created when missing), the database
//             Chromium and NSS tools read: `certutil -A -t C,,` / `certutil -D`
//   --java    ROOT/etc/ssl/certs/java/cacerts (Debian's), password changeit:
//             `keytool -importcert` / `keytool -delete`
// ROOT is "/" unless --root. Each store is asked for by name, so a step whose
// tool or store is missing (update-ca-certificates, certutil, keytool, the
// cacerts file) fails (exit 1) and says what it looked for; a step that fails
// does not stop the others. (An NSS database is created when missing.)
// The steps are in cert_trust_system.cc, cert_trust_nss.cc and cert_trust_java.cc, what they
// share in cert_trust_store.{h,cc} and cert_trust_tools.cc.
// NAME defaults to the CA's subject CN in lower case with other characters
// than [a-z0-9._-] turned into '-', then '-' and the first 8 hex digits of the
// certificate's SHA-256 fingerprint: CAs with the same CN (every `cert ca`
// without --name is "tlsgate CA") get their own file, alias and nickname. A
// --name must be a plain file name (no '/', not "." or "..", no control
// characters). The system step never replaces or removes a NAME.crt that
// holds another certificate: it says what the file holds and leaves it (exit
// 1); choose another --name, or uninstall that CA first. Without --name,
// uninstall also removes ROOT/.../<CN name>.crt, the file an earlier tlsgate
// wrote, when (and only when) it holds this CA.
#include <cctype>
#include <string>

#include "cli/cert_trust_store.h"
#include "cli/command.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

using trust::TrustOptions;

// "" when NAME can be a file name in the store's folder, else what is wrong with it.
std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "is \"" + name + "\"";
  if (name.find('/') != std::string::npos) return "contains '/'";
  if (name.find("..") != std::string::npos) return "contains \"..\"";
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  return "";
}

// The first 8 hex digits of the certificate's SHA-256 fingerprint, lower case.
std::string short_fingerprint(const X509* cert) {
  std::string fp = pki::fingerprint_sha256(cert);
  std::string out;
  for (char c : fp) {
    if (c != ':' && out.size() < 8)
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The CA's CN in lower case, other characters than [a-z0-9._-] turned into '-': the default
// name before the fingerprint was added to it.
std::string cn_name(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  std::string cn;
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
              static_cast<size_t>(ASN1_STRING_length(s)));
  }
  std::string out;
  for (char c : util::to_lower(cn)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += ok ? c : '-';
  }
  return out.empty() ? "tlsgate-ca" : out;
}

std::string default_name(const X509* cert) { return cn_name(cert) + "-" + short_fingerprint(cert); }

int run_trust(const TrustOptions& o) {
  if (!o.system && !o.nss && !o.java) {
    return report_error("name the stores to " + o.action + ": --system, --nss and/or --java",
                        kUsage);
  }
  if (!o.name.empty()) {
    if (std::string why = name_problem(o.name); !why.empty()) {
      return report_error("--name \"" + o.name + "\" " + why +
                              "; give a plain file name such as my-ca (it becomes NAME.crt, the "
                              "NSS nickname and the Java alias)",
                          kUsage);
    }
  }
  auto certs = pki::load_certificates(o.ca);
  if (!certs) return report_error(certs.error().message(), kFailed);
  const X509* ca = certs->front().get();
  if (X509_check_ca(pki::unconst(ca)) == 0) {
    return report_error(o.ca.string() + ": " + pki::subject_of(ca) +
                            " is not a CA certificate; give the CA's certificate (ca.crt)",
                        kFailed);
  }
  auto pem = pki::certificate_pem(ca);
  if (!pem) return report_error(pem.error().message(), kFailed);
  trust::TrustRun run(o, ca, *pem, o.name.empty() ? default_name(ca) : o.name,
                      o.name.empty() ? cn_name(ca) : "");
  if (o.system) trust::update_system(run);
  if (o.nss) trust::update_nss(run);
  if (o.java) trust::update_java(run);
  return run.code();
}

}  // namespace

void add_cert_trust(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<TrustOptions>();
  auto* cmd = cert.add_subcommand(
      "trust",
      "Install a CA into (or remove it from) the system, NSS (Chromium) and Java trust "
      "stores");
  cmd->add_option("action", opts->action, "install or uninstall")
      ->required()
      ->check(CLI::IsMember({"install", "uninstall"}));
  cmd->add_option("--ca", opts->ca, "The CA certificate (ca.crt)")->required();
  cmd->add_flag(
      "--system", opts->system,
      "The Debian system store (/usr/local/share/ca-certificates, update-ca-certificates)");
  cmd->add_flag("--nss", opts->nss,
                "The NSS database in $HOME/.pki/nssdb (Chromium), via certutil");
  cmd->add_flag("--java", opts->java, "Java's cacerts (/etc/ssl/certs/java/cacerts), via keytool");
  cmd->add_option("--root", opts->root,
                  "Act on the system and Java stores under this folder instead of / (tests, "
                  "images)");
  cmd->add_option("--name", opts->name,
                  "Name of the entry (file name, nickname and alias; a plain file name); "
                  "default: the CA's CN, lower case, and a short SHA-256 fingerprint");
  cmd->callback([opts, &out] { out.code = run_trust(*opts); });
}

}  // namespace tlsgate::cli
