#include "cli/cert_support.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "pki/crl_issuer.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/pkcs11.h"
#include "pki/private_key_loader.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::cli {

void add_key_options(CLI::App& cmd, KeyOptions& key) {
  cmd.add_option("--rsa", key.rsa_bits,
                 "RSA key of BITS (2048, 3072, 4096) instead of ECDSA P-256");
  cmd.add_option(
         "--key-format", key.format,
         "pkcs8 (PEM label PRIVATE KEY) or pkcs1 (PEM label RSA PRIVATE KEY, RSA keys only)")
      ->capture_default_str();
}

util::Result<KeyChoice> choose_key(const KeyOptions& key, bool reuse_key) {
  KeyChoice choice;
  auto format = pki::parse_key_format(key.format);
  if (!format) return util::fail(format.error());
  choice.format = *format;
  if (key.rsa_bits != 0) {
    auto spec = pki::rsa_key_spec(key.rsa_bits);
    if (!spec) return util::fail(spec.error());
    choice.spec = *spec;
  }
  if (choice.format == pki::KeyFormat::kPkcs1 && choice.spec.type != pki::KeySpec::Type::kRsa &&
      !reuse_key) {
    return util::fail(
        "--key-format pkcs1: PKCS#1 holds RSA keys only and the new key would be ECDSA P-256; "
        "add --rsa 2048 or use --key-format pkcs8");
  }
  return choice;
}

namespace {

// `crl` and `revoke` sign with the folder's key too: a leaf's certificate and
// key copied into a folder must not sign CRLs any more than certificates.
util::Status check_is_ca(const X509* cert, const std::filesystem::path& crt) {
  if (X509_check_ca(pki::unconst(cert)) != 0) return {};
  return util::fail(crt.string() + ": " + pki::subject_of(cert) +
                    " is not a CA certificate (no basicConstraints CA:TRUE); give the folder of "
                    "a CA made with `tlsgate cert ca`");
}

}  // namespace

util::Status refuse_existing(const std::filesystem::path& path, bool force,
                             const std::string& what) {
  std::error_code ec;
  if (force || !std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return {};
  return util::fail(path.string() + " exists (" + what +
                    "); pass --force to replace it, or choose another path");
}

util::Result<CaMaterial> load_ca_dir(const std::filesystem::path& dir) {
  auto crt = dir / "ca.crt";
  auto key = dir / "ca.key";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return util::fail(dir.string() +
                      ": no such CA folder; create one with `tlsgate cert ca --out " +
                      dir.string() + "`");
  }
  auto certs = pki::load_certificates(crt);
  if (!certs) return util::fail(certs.error());
  if (auto st = check_is_ca(certs->front().get(), crt); !st) return util::fail(st.error());
  auto pkey = pki::load_private_key(key, std::nullopt);
  if (!pkey) return util::fail(pkey.error());
  if (auto st =
          pki::check_key_matches(certs->front().get(), pkey->get(), crt.string(), key.string());
      !st) {
    return util::fail(st.error());
  }
  return CaMaterial{std::move(*certs), std::move(*pkey)};
}

util::Result<CaMaterial> load_ca_with_token_key(const std::filesystem::path& dir,
                                                const TokenCaKey& key) {
  auto crt = dir / "ca.crt";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return util::fail(dir.string() +
                      ": no such CA folder; it must hold ca.crt, the certificate of "
                      "the CA whose key is on the token");
  }
  auto module = key.module;
  if (module.empty()) {
    if (const char* env = std::getenv("PKCS11_MODULE"); env != nullptr) module = env;
  }
  if (module.empty()) {
    return util::fail("--ca-key " + pki::redact_pkcs11_uri(key.uri) +
                      " needs the token's module: pass --pkcs11-module PATH (or set "
                      "PKCS11_MODULE)");
  }
  std::optional<util::Secret> pin;
  std::string pin_origin = "--pin-file";
  if (key.pin_file) {
    auto read = read_password(key.pin_file, "", false);
    if (!read) return util::fail(read.error());
    pin = std::move(*read);
  } else if (const char* env = std::getenv("PKCS11_PIN"); env != nullptr) {
    pin = util::Secret(env);
    pin_origin = "$PKCS11_PIN";
  }
  auto certs = pki::load_certificates(crt);
  if (!certs) return util::fail(certs.error());
  if (auto st = check_is_ca(certs->front().get(), crt); !st) return util::fail(st.error());
  auto pkey = pki::load_pkcs11_key(key.uri, module, pin, pin_origin);
  if (!pkey) return util::fail(pkey.error());
  if (auto st = pki::check_key_matches(certs->front().get(), pkey->get(), crt.string(),
                                       pki::redact_pkcs11_uri(key.uri));
      !st) {
    return util::fail(st.error());
  }
  return CaMaterial{std::move(*certs), std::move(*pkey)};
}

util::Result<std::vector<pki::Revocation>> load_revocations(const std::filesystem::path& ca_dir) {
  auto file = ca_dir / "revocations.txt";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::vector<pki::Revocation>{};
  auto text = util::read_file(file);
  if (!text) return util::fail(text.error());
  return pki::parse_revocation_index(*text, file.string());
}

util::Result<PublishedCrl> publish_crl(const std::filesystem::path& ca_dir, const CaMaterial& ca,
                                       const std::vector<pki::Revocation>& index,
                                       const CrlTargets& targets) {
  auto number_file = ca_dir / "crlnumber";
  uint64_t last = 0;
  std::error_code ec;
  if (std::filesystem::exists(number_file, ec)) {
    auto text = util::read_file(number_file);
    if (!text) return util::fail(text.error());
    auto n = pki::parse_crl_number(*text, number_file.string());
    if (!n) return util::fail(n.error());
    last = *n;
  }
  const auto& clock = util::SystemClock::instance();
  pki::CrlSpec spec;
  spec.entries = pki::crl_entries(index);
  spec.number = last + 1;
  spec.this_update = clock.now();
  spec.next_update = *spec.this_update + std::chrono::days(targets.days);
  auto crl = pki::sign_crl(ca.certs.front().get(), ca.key.get(), spec, clock);
  if (!crl) return util::fail(crl.error());
  auto pem = pki::crl_pem(crl->get());
  if (!pem) return util::fail(pem.error());
  if (auto st = util::write_file_atomic(number_file, std::to_string(spec.number) + "\n", 0644);
      !st) {
    return util::fail(st.error());
  }
  PublishedCrl out{spec.number, spec.entries.size(), *spec.next_update, {}};
  std::vector<std::filesystem::path> files{targets.out};
  if (targets.install_into) {
    if (!std::filesystem::is_directory(*targets.install_into, ec)) {
      return util::fail(targets.install_into->string() +
                        ": no such folder; give a policy's revoked/ folder (`tlsgate cert install` "
                        "creates it)");
    }
    auto name = std::filesystem::absolute(ca_dir, ec).lexically_normal();
    std::string stem =
        name.filename().empty() ? name.parent_path().filename().string() : name.filename().string();
    files.push_back(*targets.install_into / ((stem.empty() ? "ca" : stem) + ".crl"));
  }
  for (const auto& f : files) {
    if (auto st = util::write_file_atomic(f, *pem, 0644); !st) return util::fail(st.error());
    out.written.push_back(f);
  }
  return out;
}

std::string describe(const PublishedCrl& crl) {
  std::vector<std::string> files;
  for (const auto& f : crl.written) files.push_back(f.string());
  return fmt::format("{} revoked certificate{}, CRL number {}, next update {}, written to {}",
                     crl.entries, crl.entries == 1 ? "" : "s", crl.number,
                     pki::format_time(crl.next_update), util::join(files, ", "));
}

namespace {

std::optional<std::string> prompt_hidden(const std::string& prompt) {
  std::fprintf(stderr, "%s", prompt.c_str());
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  if (!ok) return std::nullopt;
  return line;
}

}  // namespace

util::Result<util::Secret> read_password(const std::optional<std::filesystem::path>& file,
                                         const std::string& prompt, bool confirm) {
  if (file) {
    auto text = util::read_file(*file);
    if (!text) return util::fail(text.error());
    std::string value = text->substr(0, text->find('\n'));
    if (!value.empty() && value.back() == '\r') value.pop_back();
    return util::Secret(value);
  }
  if (::isatty(STDIN_FILENO) == 0) {
    return util::fail("no password given and no terminal to ask on; pass --password-file FILE");
  }
  auto first = prompt_hidden(prompt + ": ");
  if (!first) return util::fail("no password entered");
  if (confirm) {
    auto second = prompt_hidden("Again: ");
    if (!second || *second != *first) return util::fail("the two passwords differ; try again");
  }
  return util::Secret(*first);
}

nlohmann::json to_json(const pki::CertificateInfo& i) {
  return {
      {"subject", i.subject},
      {"subject_cn", i.subject_cn},
      {"issuer", i.issuer},
      {"serial", i.serial_hex},
      {"not_before", i.not_before_text},
      {"not_after", i.not_after_text},
      {"days_left", i.days_left},
      {"expired", i.expired},
      {"not_yet_valid", i.not_yet_valid},
      {"san", {{"dns", i.san_dns}, {"ip", i.san_ip}, {"email", i.san_email}, {"uri", i.san_uri}}},
      {"key", {{"type", i.key_type}, {"curve", i.key_curve}, {"bits", i.key_bits}}},
      {"key_usage", i.key_usage},
      {"extended_key_usage", i.extended_key_usage},
      {"is_ca", i.is_ca},
      {"self_signed", i.self_signed},
      {"signature_algorithm", i.signature_algorithm},
      {"pin", {{"sha256_hex", i.pin_hex}, {"sha256_base64", i.pin_base64}}},
      {"fingerprint_sha256", i.fingerprint_sha256},
  };
}

std::string to_text(const pki::CertificateInfo& i) {
  std::vector<std::string> names;
  for (const auto& n : i.san_dns) names.push_back(pki::san_text("DNS:", n));
  for (const auto& n : i.san_ip) names.push_back(pki::san_text("IP:", n));
  for (const auto& n : i.san_email) names.push_back(pki::san_text("email:", n));
  for (const auto& n : i.san_uri) names.push_back(pki::san_text("URI:", n));
  std::string validity;
  if (i.expired) {
    long ago = -i.days_left - 1;  // days_left is rounded down
    validity = ago == 0 ? "EXPIRED less than a day ago"
                        : fmt::format("EXPIRED {} day{} ago", ago, ago == 1 ? "" : "s");
  } else if (i.not_yet_valid) {
    validity = "NOT YET VALID";
  } else {
    validity = fmt::format("{} days left", i.days_left);
  }
  std::string key = i.key_type + (i.key_curve.empty() ? "" : " " + i.key_curve);
  if (i.key_bits > 0) key += fmt::format(" ({} bits)", i.key_bits);
  std::string out;
  auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<12} {}\n", label, value);
  };
  line("subject:", i.subject);
  line("issuer:", i.issuer + (i.self_signed ? " (self-signed)" : ""));
  line("serial:", i.serial_hex);
  line("valid:", fmt::format("{} to {} ({})", i.not_before_text, i.not_after_text, validity));
  line("names:", names.empty() ? "(none)" : util::join(names, ", "));
  line("key:", key);
  line("key usage:", i.key_usage.empty() ? "(any)" : util::join(i.key_usage, ", "));
  line("ext usage:",
       i.extended_key_usage.empty() ? "(any)" : util::join(i.extended_key_usage, ", "));
  line("CA:", i.is_ca ? "yes" : "no");
  line("signature:", i.signature_algorithm);
  line("pin:", "sha256:" + i.pin_hex);
  line("", "sha256//" + i.pin_base64);
  line("fingerprint:", "SHA256 " + i.fingerprint_sha256);
  return out;
}

}  // namespace tlsgate::cli
