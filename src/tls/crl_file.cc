#include "tls/crl_file.h"

#include <fmt/format.h>

#include "pki/certificate_info.h"
#include "pki/loader.h"

namespace tlsgate::tls {

util::Result<std::vector<CrlFile>> load_crl_files(const std::filesystem::path& dir,
                                                  util::SystemTime now) {
  auto loaded = pki::load_crl_files_dir(dir);
  if (!loaded) return util::fail(loaded.error());
  std::vector<CrlFile> out;
  out.reserve(loaded->size());
  for (auto& [file, crl] : *loaded) {
    CrlFile f;
    f.file = file;
    f.issuer = pki::name_to_string(X509_CRL_get_issuer(crl.get()));
    f.last_update = pki::to_system_time(X509_CRL_get0_lastUpdate(crl.get()));
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
      f.next_update = pki::to_system_time(next);
    }
    f.stale = f.stale_at(now);
    f.not_yet_valid = f.last_update > now;
    f.crl = std::move(crl);
    out.push_back(std::move(f));
  }
  return out;
}

const CrlFile* crl_for_issuer(const std::vector<CrlFile>& crls, const X509_NAME* issuer) {
  const CrlFile* best = nullptr;
  for (const auto& c : crls) {
    if (issuer == nullptr || X509_NAME_cmp(X509_CRL_get_issuer(c.crl.get()), issuer) != 0) continue;
    if (best == nullptr || c.last_update > best->last_update) best = &c;
  }
  return best;
}

const CrlFile* find_crl(const std::vector<CrlFile>& crls, const X509_CRL* crl) {
  if (crl == nullptr) return nullptr;
  for (const auto& c : crls) {
    if (c.crl.get() == crl) return &c;
  }
  for (const auto& c : crls) {
    if (X509_CRL_match(c.crl.get(), crl) == 0) return &c;
  }
  return nullptr;
}

std::string stale_crl_fix(const config::Policy& policy, const CrlFile& crl) {
  return fmt::format("put a fresh CRL from {} into {}; tlsgate reloads it", crl.issuer,
                     policy.revoked_dir.string());
}

std::vector<std::string> crl_warnings(const config::Policy& policy,
                                      const std::vector<CrlFile>& crls, util::SystemTime now) {
  const std::string key = "ssl.policy." + policy.scope + ".";
  std::vector<std::string> out;
  for (const auto& c : crls) {
    if (c.last_update > now) {
      out.push_back(fmt::format(
          "{}revoked_dir: CRL {} from {} is not valid yet: its lastUpdate {} is ahead of this "
          "machine's clock; peers with certificates from {} are refused until then; check the "
          "clock of this machine and of the CA (NTP), or put a CRL with a current lastUpdate "
          "into {}",
          key, c.file.string(), c.issuer, pki::format_time(c.last_update), c.issuer,
          policy.revoked_dir.string()));
    } else if (c.stale_at(now)) {
      bool reject = policy.stale_crl == config::StaleCrl::kReject;
      out.push_back(fmt::format(
          "{}revoked_dir: CRL {} from {} is stale: its nextUpdate {} has passed; {}stale_crl={}: "
          "{}; {}",
          key, c.file.string(), c.issuer, pki::format_time(*c.next_update), key,
          config::to_string(policy.stale_crl),
          reject ? "peers with certificates from " + c.issuer + " are refused until then"
                 : "it is still used (the certificates it lists stay refused) and peers with "
                   "certificates from " +
                       c.issuer + " are let in",
          stale_crl_fix(policy, c)));
    }
  }
  return out;
}

}  // namespace tlsgate::tls
