// Turning a failed handshake into a sentence a person can act on.
//
// explain_handshake_failure() reads the SSL's state and the thread's OpenSSL
// error queue (draining it) right after SSL_do_handshake failed, and returns
// e.g. "client offered no TLS version that ssl.policy.pg.tls_versions allows
// (TLSv1.2,TLSv1.3)" or "certificate_unknown from 10.0.0.7: the client does
// not trust our certificate (issuer CN=Demo CA)" — never a bare OpenSSL code.
// A peer refused for a CRL's dates gets the CRL file, its date and the fix:
// "client certificate CN=app1 from 10.0.0.7 refused: the CRL
// /c/revoked/ca.crl from CN=Demo CA is stale (its nextUpdate 2026-01-02
// 03:04:05 UTC has passed) and ssl.policy.db.stale_crl is REJECT; put a fresh
// CRL from CN=Demo CA into /c/revoked; tlsgate reloads it".
#pragma once

#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "tls/context.h"
#include "util/clock.h"

namespace tlsgate::tls {

std::string explain_handshake_failure(const SSL* ssl, const Context& ctx, const std::string& peer);

// The sentence for a peer certificate `cert` that chain verification under
// `ctx` refused with `verify_error` (X509_V_ERR_*) — a handshake's and a
// re-check's (tls/revalidate.h) alike. `host`: the name the certificate had
// to carry, for a hostname mismatch (null: "the dialled address"). `crl`:
// the CRL that refused it (refusing_crl()), if known; else a stale or early
// CRL is looked up by cert's issuer. `at`: the time verification used (a
// re-check's; else now), which tells an expired leaf from an expired CA.
std::string explain_verify_failure(long verify_error, const X509* cert, const Context& ctx,
                                   const std::string& peer, const char* host,
                                   const CrlFile* crl = nullptr,
                                   std::optional<util::SystemTime> at = std::nullopt);

}  // namespace tlsgate::tls
