// CrlFile: what a context loaded from revoked_dir, one entry per CRL, for
// logs, metrics and the revocation engine (does a CRL cover this issuer, and
// is it fresh).
//
// load_crl_files() reads the folder (pki::load_crl_files_dir) and dates each
// CRL against `now`; crl_warnings() turns the stale and not-yet-valid ones
// into log lines that name the file, its date, what stale_crl does with it,
// and the fix. The tls layer neither logs nor schedules: the gate logs these
// lines when a context is built or reloaded (and hourly, from its timer).
// Everything here is a pure function of its arguments; CrlCounters are
// updated from any thread (atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::tls {

struct CrlFile {
  std::filesystem::path file;  // in revoked_dir (one file may hold several CRLs)
  std::string issuer;          // RFC 2253, e.g. "CN=Demo CA,O=Example"
  util::SystemTime last_update{};
  std::optional<util::SystemTime> next_update;  // absent: the CRL names none, never stale
  bool stale = false;                           // next_update had passed when it was loaded
  bool not_yet_valid = false;                   // last_update was still ahead when it was loaded
  pki::X509CrlPtr crl;  // the CRL itself (a context's X509_STORE holds it too)

  // Past its nextUpdate at `now`.
  bool stale_at(util::SystemTime now) const { return next_update && *next_update < now; }
};

// Peers whose chain verification met a stale CRL; counted by a context's
// verify callback on the worker threads.
struct CrlCounters {
  std::atomic<uint64_t> stale_admitted{0};  // let in anyway (stale_crl=WARN)
  std::atomic<uint64_t> stale_refused{0};   // refused (stale_crl=REJECT)
};

// Every CRL in dir, in file name order, dated against now. Errors are
// pki::load_crl_files_dir()'s ("FILE: truncated or corrupted CRL: ...").
util::Result<std::vector<CrlFile>> load_crl_files(const std::filesystem::path& dir,
                                                  util::SystemTime now);

// The CRL in crls that covers certificates issued by `issuer` (its issuer
// name equals it), the newest by lastUpdate when several do — the one OpenSSL
// prefers, as long as it is within its dates; null if none.
const CrlFile* crl_for_issuer(const std::vector<CrlFile>& crls, const X509_NAME* issuer);

// The CrlFile in crls that holds this very CRL (same object or same
// contents), or null.
const CrlFile* find_crl(const std::vector<CrlFile>& crls, const X509_CRL* crl);

// One line per CRL of `policy` that is stale or not yet valid at now:
//   "ssl.policy.db.revoked_dir: CRL /c/revoked/ca.crl from CN=Demo CA is stale:
//    its nextUpdate 2026-01-02 03:04:05 UTC has passed; ssl.policy.db.stale_crl=WARN:
//    it is still used (the certificates it lists stay refused) and peers with
//    certificates from CN=Demo CA are let in; put a fresh CRL from CN=Demo CA
//    into /c/revoked; tlsgate reloads it"
// (under REJECT: "peers with certificates from ... are refused until then").
std::vector<std::string> crl_warnings(const config::Policy& policy,
                                      const std::vector<CrlFile>& crls, util::SystemTime now);

// "put a fresh CRL from ISSUER into DIR; tlsgate reloads it": the fix every
// message about a stale CRL ends with.
std::string stale_crl_fix(const config::Policy& policy, const CrlFile& crl);

}  // namespace tlsgate::tls
