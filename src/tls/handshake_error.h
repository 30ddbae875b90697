// Turning a failed handshake into a sentence a person can act on.
//
// explain_handshake_failure() reads the SSL's state and the thread's OpenSSL
// error queue (draining it) right after SSL_do_handshake failed, and returns
// e.g. "client offered no TLS version that ssl.policy.pg.tls_versions allows
// (TLSv1.2,TLSv1.3)" or "certificate_unknown from 10.0.0.7: the client does
// not trust our certificate (issuer CN=Demo CA)" — never a bare OpenSSL code.
#pragma once

#include <string>

#include <openssl/ssl.h>

#include "tls/context.h"

namespace tlsgate::tls {

std::string explain_handshake_failure(const SSL* ssl, const Context& ctx, const std::string& peer);

// The sentence for a peer certificate `cert` that chain verification under
// `ctx` refused with `verify_error` (X509_V_ERR_*) — a handshake's and a
// re-check's (tls/revalidate.h) alike. `host`: the name the certificate had
// to carry, for a hostname mismatch (null: "the dialled address").
std::string explain_verify_failure(long verify_error, const X509* cert, const Context& ctx,
                                   const std::string& peer, const char* host);

}  // namespace tlsgate::tls
