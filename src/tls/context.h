// Context: one policy built into an immutable OpenSSL context (STYLE.md practice 2).
//
// build_context() loads and checks everything a policy names — key and
// certificate (matching), trusted certificates, CRLs, versions, ciphers,
// groups, pins — into a fresh SSL_CTX, or fails with an error naming the key
// and file at fault; it never returns a half-configured context. The result
// is shared as shared_ptr<const Context>; a connection keeps the one it was
// created with until it closes, while reloads publish new ones. SSL_CTX is
// internally reference-counted and safe to use from many threads once built.
//
// CRLs (tls/crl_file.h): every CRL in revoked_dir is checked for peers, leaf
// and chain. One past its nextUpdate is still used under stale_crl=WARN — the
// certificates it lists stay refused — and each peer let in on it is counted
// in crl_counters; under REJECT the peers it covers are refused, and
// refusing_crl() tells explain_handshake_failure() which CRL did it. A CRL
// whose lastUpdate is still ahead refuses the peers it covers either way.
// The same rules apply to a verification run on the SSL_CTX's X509_STORE
// outside a handshake (X509_STORE_CTX_init on it, then X509_verify_cert):
// the store carries the verify callback and the policy.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/settings.h"
#include "pki/certificate_info.h"
#include "tls/acme_answers.h"
#include "tls/crl_file.h"
#include "tls/ocsp_staple.h"
#include "tls/ssl_handles.h"
#include "tls/ticket_keys.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::tls {

enum class Side { kServer, kClient };

struct Context {
  Side side = Side::kServer;
  config::Policy policy;                            // the settings it was built from
  SslCtxPtr ssl_ctx;                                // never reconfigured after build
  std::optional<pki::CertificateInfo> certificate;  // own leaf, if any (logs, metrics)
  std::set<std::string> pins;                       // raw SPKI SHA-256 digests
  // The certificates of trusted_dir (when peers are verified), in load
  // order: their subjects and expiries for the admin API.
  std::vector<pki::CertificateInfo> trusted;
  bool has_crls = false;      // crls is not empty
  std::vector<CrlFile> crls;  // from revoked_dir, in file name order (when peers are verified)
  std::shared_ptr<CrlCounters> crl_counters = std::make_shared<CrlCounters>();
  // ALPN list in wire format; the server's selection callback points into it,
  // so a connection must hold its Context (not only the SSL_CTX) while alive.
  std::shared_ptr<const std::string> alpn_wire;
  std::shared_ptr<TicketKeys> tickets;  // kept alive as long as the SSL_CTX uses them
  bool stapling = false;                // server, ocsp_stapling: staples from BuildOptions::staples
  // Server side, ACME policies (tls/acme_answers.h): the ClientHello hook's
  // state. acme_pending: no certificate file yet, so only challenges are
  // answered until ACME has written one.
  std::shared_ptr<const AcmeHook> acme_hook;
  bool acme_pending = false;

  // The CRL that covers certificates issued by `issuer` (tls::crl_for_issuer
  // on crls), or null; valid as long as this Context.
  const CrlFile* crl_for_issuer(const X509_NAME* issuer) const {
    return tls::crl_for_issuer(crls, issuer);
  }
};

// crl_warnings() for the CRLs of ctx under its policy.
inline std::vector<std::string> crl_warnings(const Context& ctx, util::SystemTime now) {
  return crl_warnings(ctx.policy, ctx.crls, now);
}

struct BuildOptions {
  bool expand_commands = false;   // allow private_key_password=$(command)
  std::vector<std::string> alpn;  // server: protocols accepted; client: offered
  // Server side: session tickets under these shared, rotated keys (so
  // resumption survives reloads); null: OpenSSL's per-context keys.
  std::shared_ptr<TicketKeys> tickets;
  // Server side, policies with ocsp_stapling: the responses to staple, by
  // leaf; null: nothing is stapled.
  std::shared_ptr<const StapleStore> staples;
  // Server side, ACME policies with tls-alpn-01: the challenges to answer;
  // null: none (a pending policy then refuses every client).
  std::shared_ptr<const AcmeChallengeStore> acme_challenges;
};

// The peer certificate that chain verification rejected on this SSL, if any
// (OpenSSL drops it from the session, but failures must name it).
const X509* rejected_peer_certificate(const SSL* ssl);

// implicit_trust_renewed: when this SSL's peer was trusted as the renewal
// of a leaf in trusted_dir (same public key, same issuer), that leaf's
// description ("SUBJECT (serial S, in DIR)"), for the log; else null. Valid
// as long as the Context the SSL was made from.
const std::string* renewed_trusted_leaf(const SSL* ssl);

// The CRL of ctx that made chain verification refuse this SSL's peer — past
// its nextUpdate under stale_crl=REJECT, or before its lastUpdate — or null.
// ctx must be the context the SSL was made from.
const CrlFile* refusing_crl(const SSL* ssl, const Context& ctx);

// ALPN wire format: each protocol name prefixed by its length byte.
std::string alpn_wire(const std::vector<std::string>& protocols);

// This connection accepts the protocols in `wire` (alpn_wire()) instead of
// its context's: a client offering ALPN must offer one of them (else the
// handshake fails with no_application_protocol); a client offering none is
// served. `wire` must outlive the SSL.
void set_connection_alpn(SSL* ssl, const std::string& wire);

util::Result<std::shared_ptr<const Context>> build_context(const config::Policy& policy, Side side,
                                                           const BuildOptions& options,
                                                           const util::Clock& clock);

}  // namespace tlsgate::tls
