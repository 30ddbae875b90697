// `tlsgate cert pkcs12 --cert C --key K --out P12 [--ca FILE] [--password-file F]`
// `tlsgate cert pkcs12 --in P12 [--out DIR] [--password-file F]`: a key store gives
//  DIR/public.crt (leaf, then chain) and DIR/private.key; a trust store (certificates, no key)
//  gives DIR/ca.crt with every certificate, PEM, in the store's order -- the file `--ca FILE`
//  reads. Without --out, each certificate is described.
// `tlsgate cert pkcs12 --truststore --ca FILE... --out P12 [--password-file F]`: a trust store
//  whose certificates Java's keytool lists as trustedCertEntry (pki/pkcs12.h).
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/pkcs12.h"
#include "pki/private_key_loader.h"
#include "util/atomic_file.h"

namespace tlsgate::cli {
namespace {

struct CertPkcs12Options {
  std::filesystem::path cert, key, in, out;
  std::vector<std::filesystem::path> ca;
  std::optional<std::filesystem::path> password_file;
  std::optional<std::filesystem::path> key_password_file;
  std::string name;
  bool truststore = false;
  bool force = false;
};

// A store whose password is empty protects nothing: OpenSSL then writes the
// key unencrypted, which a reader of the file would not expect.
util::Result<util::Secret> store_password(const CertPkcs12Options& o) {
  auto password = read_password(o.password_file, "Password for " + o.out.string(), true);
  if (!password) return password;
  if (password->empty()) {
    return util::fail("the password for " + o.out.string() + " is empty" +
                      (o.password_file ? " (" + o.password_file->string() + ")" : "") +
                      "; a PKCS#12 store without a password holds its key unprotected: give one");
  }
  return password;
}

int write_truststore(const CertPkcs12Options& o) {
  if (o.ca.empty() || o.out.empty()) {
    return report_error("--truststore needs --ca FILE (one or more) and --out P12", kUsage);
  }
  if (!o.name.empty()) {
    return report_error(
        "--name names a key store's entry; a trust store's entries are named after each CA's "
        "subject: leave --name out",
        kUsage);
  }
  if (auto st = refuse_existing(o.out, o.force, "--out"); !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::vector<pki::X509Ptr> certs;
  for (const auto& ca_file : o.ca) {
    auto loaded = pki::load_certificates(ca_file);
    if (!loaded) return report_error(loaded.error().message(), kFailed);
    for (auto& c : *loaded) certs.push_back(std::move(c));
  }
  auto password = store_password(o);
  if (!password) return report_error(password.error().message(), kUsage);
  auto der = pki::write_pkcs12_truststore(certs, *password);
  if (!der) return report_error(der.error().message(), kFailed);
  if (auto st = util::write_file_atomic(o.out, *der, 0644); !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::printf("PKCS#12 trust store written: %s (%zu trusted certificate(s))\n", o.out.c_str(),
              certs.size());
  return kOk;
}

int write_store(const CertPkcs12Options& o) {
  if (auto st = refuse_existing(o.out, o.force, "--out"); !st) {
    return report_error(st.error().message(), kFailed);
  }
  auto certs = pki::load_certificates(o.cert);
  if (!certs) return report_error(certs.error().message(), kFailed);
  std::optional<util::Secret> key_password;
  if (o.key_password_file) {
    auto pw = read_password(o.key_password_file, "", false);
    if (!pw) return report_error(pw.error().message(), kUsage);
    key_password = *pw;
  }
  auto key = pki::load_private_key(o.key, key_password, pass_password_with("--key-password-file"));
  if (!key) return report_error(key.error().message(), kFailed);
  if (auto st =
          pki::check_key_matches(certs->front().get(), key->get(), o.cert.string(), o.key.string());
      !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::vector<pki::X509Ptr> chain;
  for (size_t i = 1; i < certs->size(); ++i) chain.push_back(std::move((*certs)[i]));
  for (const auto& ca_file : o.ca) {
    auto extra = pki::load_certificates(ca_file);
    if (!extra) return report_error(extra.error().message(), kFailed);
    for (auto& c : *extra) chain.push_back(std::move(c));
  }
  auto password = store_password(o);
  if (!password) return report_error(password.error().message(), kUsage);
  std::string name = o.name.empty() ? o.cert.stem().string() : o.name;
  auto der = pki::write_pkcs12(certs->front().get(), key->get(), chain, *password, name);
  if (!der) return report_error(der.error().message(), kFailed);
  if (auto st = util::write_file_atomic(o.out, *der, 0600); !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::printf("PKCS#12 written: %s (certificate, key and %zu chain certificate(s))\n",
              o.out.c_str(), chain.size());
  return kOk;
}

int read_truststore(const CertPkcs12Options& o, const std::vector<pki::X509Ptr>& certs) {
  if (o.out.empty()) {
    std::printf("%s: trust store, %zu certificate(s), no private key\n", o.in.c_str(),
                certs.size());
    for (size_t i = 0; i < certs.size(); ++i) {
      std::printf("certificate %zu of %zu\n%s", i + 1, certs.size(),
                  to_text(pki::describe(certs[i].get(), util::SystemClock::instance())).c_str());
    }
    return kOk;
  }
  const std::filesystem::path file = o.out / "ca.crt";
  if (auto st = refuse_existing(file, o.force, "--out"); !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::string pem;
  for (const auto& c : certs) {
    auto one = pki::certificate_pem(c.get());
    if (!one) return report_error(one.error().message(), kFailed);
    pem += *one;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (auto st = util::write_file_atomic(file, pem, 0644); !st) {
    return report_error(st.error().message(), kFailed);
  }
  std::printf("extracted %s into %s: ca.crt (trust store, %zu certificate(s))\n", o.in.c_str(),
              o.out.c_str(), certs.size());
  return kOk;
}

int read_store(const CertPkcs12Options& o) {
  auto der = util::read_file(o.in);
  if (!der) return report_error(der.error().message(), kFailed);
  auto password = read_password(o.password_file, "Password for " + o.in.string(), false);
  if (!password) return report_error(password.error().message(), kUsage);
  auto contents =
      pki::read_pkcs12(*der, o.in.string(), *password,
                       o.password_file ? "check the password in " + o.password_file->string()
                                       : std::string("check the password you typed"));
  if (!contents) return report_error(contents.error().message(), kFailed);
  if (!contents->key) return read_truststore(o, contents->chain);
  if (o.out.empty()) {
    std::printf(
        "%s\n%s", o.in.c_str(),
        to_text(pki::describe(contents->cert.get(), util::SystemClock::instance())).c_str());
    std::printf("  %-12s %zu certificate(s), private key %s\n", "also:", contents->chain.size(),
                contents->key ? "present" : "absent");
    return kOk;
  }
  for (const char* file : {"public.crt", "private.key"}) {
    if (auto st = refuse_existing(o.out / file, o.force, "--out"); !st) {
      return report_error(st.error().message(), kFailed);
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  auto pem = pki::chain_pem(contents->cert.get(), contents->chain);
  if (!pem) return report_error(pem.error().message(), kFailed);
  if (auto st = util::write_file_atomic(o.out / "public.crt", *pem, 0644); !st) {
    return report_error(st.error().message(), kFailed);
  }
  if (contents->key) {
    if (auto st = pki::write_private_key(o.out / "private.key", contents->key.get(), 0600); !st) {
      return report_error(st.error().message(), kFailed);
    }
  }
  std::printf("extracted %s into %s: public.crt%s\n", o.in.c_str(), o.out.c_str(),
              contents->key ? ", private.key" : "");
  return kOk;
}

}  // namespace

void add_cert_pkcs12(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertPkcs12Options>();
  auto* cmd = cert.add_subcommand(
      "pkcs12",
      "Write a PKCS#12 key store (--cert/--key/--out) or trust store (--truststore --ca), or "
      "read one (--in [--out DIR])");
  auto* c = cmd->add_option("--cert", opts->cert, "Certificate (leaf first, then chain)");
  auto* k = cmd->add_option("--key", opts->key, "Its private key");
  auto* in = cmd->add_option("--in", opts->in, "PKCS#12 file to read");
  cmd->add_option(
      "--out", opts->out,
      "With --cert: the .p12 to write; with --in: folder for public.crt and private.key (a "
      "trust store: ca.crt)");
  cmd->add_option("--ca", opts->ca,
                  "Extra chain certificates to include; with --truststore: the trusted CAs");
  cmd->add_option("--name", opts->name, "Friendly name (alias) of the entry");
  cmd->add_option("--password-file", opts->password_file,
                  "File whose first line is the store's password (else: prompt)");
  cmd->add_option("--key-password-file", opts->key_password_file, "Password of an encrypted --key");
  cmd->add_flag("--force", opts->force,
                "Replace the .p12 (or, with --in, DIR's public.crt and private.key, or ca.crt) "
                "if it exists");
  c->needs(k);
  k->needs(c);
  in->excludes(c);
  in->excludes(k);
  auto* trust = cmd->add_flag("--truststore", opts->truststore,
                              "Write a trust store of the --ca certificates (Java "
                              "trustedCertEntry) instead of a key store");
  trust->excludes(c);
  trust->excludes(in);
  cmd->callback([opts, &out] {
    if (opts->truststore) {
      out.code = write_truststore(*opts);
    } else if (!opts->in.empty()) {
      out.code = read_store(*opts);
    } else if (!opts->cert.empty() && !opts->out.empty()) {
      out.code = write_store(*opts);
    } else {
      out.code =
          report_error("pass --cert C --key K --out P12 to write, or --in P12 to read", kUsage);
    }
  });
}

}  // namespace tlsgate::cli
