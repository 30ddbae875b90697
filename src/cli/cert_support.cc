#include "cli/cert_support.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "cli/key_password_advice.h"
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
  auto pkey = pki::load_private_key(key, std::nullopt, ca_key_cannot_be_encrypted());
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

namespace {

// Where the CRL goes, checked before a CRL number is taken: every folder exists and can be
// written, no target is a folder. A failure here must not use up a number.
util::Result<std::vector<std::filesystem::path>> crl_files(const std::filesystem::path& ca_dir,
                                                           const CrlTargets& targets) {
  std::error_code ec;
  std::vector<std::filesystem::path> files{targets.out};
  if (targets.install_into) {
    const auto& into = *targets.install_into;
    if (!std::filesystem::exists(into, ec)) {
      if (ec) return util::fail(into.string() + ": cannot look at it (" + ec.message() + ")");
      return util::fail(into.string() +
                        ": no such folder; give a policy's revoked/ folder (`tlsgate cert install` "
                        "creates it)");
    }
    if (!std::filesystem::is_directory(into, ec)) {
      return util::fail(into.string() + ": not a folder; give a policy's revoked/ folder");
    }
    auto name = std::filesystem::absolute(ca_dir, ec).lexically_normal();
    std::string stem =
        name.filename().empty() ? name.parent_path().filename().string() : name.filename().string();
    auto installed = into / ((stem.empty() ? "ca" : stem) + ".crl");
    // --out naming the installed file itself: one write.
    std::error_code a_ec, b_ec;
    auto a = std::filesystem::weakly_canonical(installed, a_ec);
    auto b = std::filesystem::weakly_canonical(targets.out, b_ec);
    if (a_ec || b_ec || a != b) files.push_back(installed);
  }
  auto writable = [](const std::filesystem::path& folder, const std::filesystem::path& file,
                     const std::string& fix) -> util::Status {
    auto where = folder.empty() ? std::filesystem::path(".") : folder;
    std::error_code dir_ec;
    if (!std::filesystem::is_directory(where, dir_ec)) {
      if (dir_ec && dir_ec != std::errc::no_such_file_or_directory &&
          dir_ec != std::errc::not_a_directory) {
        return util::fail(file.string() + ": cannot look at " + where.string() + " (" +
                          dir_ec.message() + ")");
      }
      return util::fail(file.string() + ": no such folder " + where.string() +
                        "; create it or choose another path");
    }
    // The effective ids decide what the writes may do (access(2) asks for the real ones).
    if (::eaccess(where.c_str(), W_OK | X_OK) != 0) {
      return util::fail(file.string() + ": cannot write into " + where.string() + " (" +
                        std::strerror(errno) + "); " + fix);
    }
    return {};
  };
  if (auto st = writable(ca_dir, ca_dir / "crlnumber",
                         "the CA folder must be writable to record the CRL number");
      !st) {
    return util::fail(st.error());
  }
  for (const auto& f : files) {
    if (std::filesystem::is_directory(f, ec)) {
      return util::fail(f.string() + ": is a folder; give the path of the CRL file");
    }
    if (auto st = writable(f.parent_path(), f,
                           "let the user running tlsgate write there, or choose another path");
        !st) {
      return util::fail(st.error());
    }
  }
  return files;
}

}  // namespace

util::Result<PublishedCrl> publish_crl(const std::filesystem::path& ca_dir, const CaMaterial& ca,
                                       const std::vector<pki::Revocation>& index,
                                       const CrlTargets& targets) {
  auto files = crl_files(ca_dir, targets);
  if (!files) return util::fail(files.error());
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
  // The number is taken only now that a CRL carries it, and stored before the CRL leaves
  // memory: a CRL someone may have read never shares its number with a later one.
  if (auto st = util::write_file_atomic(number_file, std::to_string(spec.number) + "\n", 0644);
      !st) {
    return util::fail(st.error());
  }
  std::vector<util::FileWrite> writes;
  for (const auto& f : *files) writes.push_back(util::FileWrite{f, *pem, 0644});
  if (auto st = util::write_files_atomic(writes); !st) {
    return util::fail(st.error().message() + "; CRL number " + std::to_string(spec.number) +
                      " was used by the CRL that could not be written, the next run takes " +
                      std::to_string(spec.number + 1));
  }
  return PublishedCrl{spec.number, spec.entries.size(), *spec.next_update, *files};
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
