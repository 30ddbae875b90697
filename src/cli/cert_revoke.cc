// `tlsgate cert revoke --ca DIR CERT|SERIAL [--reason R] [--days N]`
//
// Records the revocation in DIR/revocations.txt (pki/revocation_index.h) and
// writes a fresh CRL of the whole index to DIR/ca.crl. Revoking a serial that
// is already in the index changes nothing, says so and exits 0 (scripts may
// run it again); the first revocation's time and reason stay, but for a
// certificateHold, which a later --reason makes permanent (RFC 5280 5.3.1:
// a hold may become a revocation), keeping the hold's date. If DIR/ca.crl
// does not list it (the CRL's write failed the first time), the CRL is
// written again, so running the command again repairs it. DIR/.lock is held
// throughout: revocations run at once each land (util/file_lock.h). A serial
// typed on the command line must fit RFC 5280's 20 octets (a longer one is a
// typo or a fingerprint); a certificate file is revoked whatever its serial.
#include <cstdio>
#include <filesystem>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "pki/certificate_info.h"
#include "pki/crl_issuer.h"
#include "pki/loader.h"
#include "pki/openssl_error.h"
#include "util/atomic_file.h"
#include "util/file_lock.h"

namespace tlsgate::cli {
namespace {

struct CertRevokeOptions {
  std::filesystem::path ca;
  std::string target;
  std::string reason = "unspecified";
  int days = 7;
  bool reason_given = false;  // --reason on the command line
};

// Whether DIR/ca.crl lists the serial (false when it cannot be read).
bool crl_lists(const std::filesystem::path& crl_file, const std::string& serial_hex) {
  std::error_code ec;
  if (!std::filesystem::exists(crl_file, ec)) return false;
  auto crls = pki::load_crls(crl_file);
  if (!crls) return false;
  for (const auto& crl : *crls) {
    const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
      const ASN1_INTEGER* serial =
          X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
      if (pki::integer_to_hex(serial) == serial_hex) return true;
    }
  }
  return false;
}

struct Target {
  std::string serial_hex;
  std::string subject = "-";
};

util::Result<Target> resolve_target(const CertRevokeOptions& o, const CaMaterial& ca, int& code) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(o.target, ec)) {
    code = kFailed;
    auto certs = pki::load_certificates(o.target);
    if (!certs) return util::fail(certs.error());
    const X509* cert = certs->front().get();
    const X509* issuer = ca.certs.front().get();
    bool ours = X509_check_issued(pki::unconst(issuer), pki::unconst(cert)) == X509_V_OK &&
                X509_verify(pki::unconst(cert), X509_get0_pubkey(issuer)) == 1;
    pki::clear_openssl_errors();
    if (!ours) {
      return util::fail(o.target + ": " + pki::subject_of(cert) + " was not issued by the CA in " +
                        o.ca.string() + " (" + pki::subject_of(issuer) +
                        "); revoke it with the CA that issued it");
    }
    return Target{pki::serial_to_hex(cert), pki::subject_of(cert)};
  }
  code = kUsage;
  auto serial = pki::normalize_serial_hex(o.target);
  if (!serial) {
    return util::fail("\"" + o.target +
                      "\" is neither a certificate file nor a serial number in hex; give the "
                      "certificate (public.crt) or its serial as `tlsgate cert inspect` prints it");
  }
  // A typed serial longer than any a conforming CA issues is a typo or a fingerprint. A
  // certificate file is taken whatever its serial: that certificate exists and may need revoking.
  if (auto st = pki::check_serial_length(*serial); !st) {
    return util::fail("\"" + o.target + "\": " + st.error().message());
  }
  return Target{*serial, "-"};
}

int run_revoke(const CertRevokeOptions& o) {
  auto reason = pki::parse_revocation_reason(o.reason);
  if (!reason) return report_error("--reason: " + reason.error().message(), kUsage);
  auto ca = load_ca_dir(o.ca);
  if (!ca) return report_error(ca.error().message(), kFailed);
  int code = kFailed;
  auto target = resolve_target(o, *ca, code);
  if (!target) return report_error(target.error().message(), code);
  auto lock = util::FileLock::acquire(o.ca / ".lock");
  if (!lock) return report_error(lock.error().message(), kFailed);
  auto index = load_revocations(o.ca);
  if (!index) return report_error(index.error().message(), kFailed);
  auto index_file = o.ca / "revocations.txt";
  std::string who = target->subject == "-"
                        ? "serial " + target->serial_hex
                        : target->subject + " (serial " + target->serial_hex + ")";
  const auto* known = pki::find_revocation(*index, target->serial_hex);
  if (known != nullptr && known->reason == pki::RevocationReason::kCertificateHold &&
      o.reason_given && *reason != pki::RevocationReason::kCertificateHold) {
    for (auto& entry : *index) {
      if (&entry == known) entry.reason = *reason;
    }
    if (auto st = util::write_file_atomic(index_file, pki::format_revocation_index(*index), 0644);
        !st) {
      return report_error(st.error().message(), kFailed);
    }
    std::printf("%s was on hold since %s: now revoked, reason %s; recorded in %s\n", who.c_str(),
                pki::format_rfc3339(known->revoked_at).c_str(),
                std::string(pki::reason_name(*reason)).c_str(), index_file.c_str());
  } else if (known != nullptr) {
    std::printf("%s is already revoked since %s (reason %s); nothing changed in %s\n", who.c_str(),
                pki::format_rfc3339(known->revoked_at).c_str(),
                std::string(pki::reason_name(known->reason)).c_str(), index_file.c_str());
    if (crl_lists(o.ca / "ca.crl", target->serial_hex)) return kOk;
    std::printf("%s does not list it: writing the CRL again\n", (o.ca / "ca.crl").c_str());
  } else {
    auto now = std::chrono::floor<std::chrono::seconds>(util::SystemClock::instance().now());
    index->push_back(pki::Revocation{target->serial_hex, now, *reason, target->subject});
    if (auto st = util::write_file_atomic(index_file, pki::format_revocation_index(*index), 0644);
        !st) {
      return report_error(st.error().message(), kFailed);
    }
    std::printf("revoked %s at %s, reason %s; recorded in %s\n", who.c_str(),
                pki::format_rfc3339(now).c_str(), std::string(pki::reason_name(*reason)).c_str(),
                index_file.c_str());
  }
  auto crl = publish_crl(o.ca, *ca, *index, CrlTargets{o.ca / "ca.crl", std::nullopt, o.days});
  if (!crl) return report_error(crl.error().message(), kFailed);
  std::printf("CRL: %s\n", describe(*crl).c_str());
  return kOk;
}

}  // namespace

void add_cert_revoke(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertRevokeOptions>();
  auto* cmd = cert.add_subcommand(
      "revoke",
      "Revoke a certificate of a CA: record it in DIR/revocations.txt and write DIR/ca.crl");
  cmd->add_option("--ca", opts->ca, "CA folder (holding ca.crt and ca.key)")->required();
  auto* reason =
      cmd->add_option("--reason", opts->reason,
                      "RFC 5280 reason: unspecified, keyCompromise, cACompromise, "
                      "affiliationChanged, superseded, cessationOfOperation, certificateHold, "
                      "privilegeWithdrawn, aACompromise")
          ->capture_default_str();
  cmd->add_option("--days", opts->days, "Days until the new CRL's nextUpdate")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->add_option("target", opts->target,
                  "The certificate file to revoke, or its serial number (hex)")
      ->required();
  cmd->callback([opts, reason, &out] {
    opts->reason_given = reason->count() > 0;
    out.code = run_revoke(*opts);
  });
}

}  // namespace tlsgate::cli
