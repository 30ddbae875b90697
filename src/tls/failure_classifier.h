// Which tls::FailureReason (tls/failure_reason.h) a refused peer or a failed
// handshake falls under — the word the log line ends with (" [reason: X]")
// and the label tlsgate_handshake_failures_total counts it under.
//
// classify_handshake_failure() reads the first error on the thread's
// OpenSSL error queue without draining it (explain_handshake_failure() does
// that after) and, for a chain that failed verification, the SSL's verify
// result. No I/O, any thread.
#pragma once

#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "tls/context.h"
#include "tls/failure_reason.h"

namespace tlsgate::tls {

// A verification error (X509_V_ERR_*) of a peer's chain.
FailureReason classify_verify_error(long verify_error);

// A handshake SSL_do_handshake() refused (or an alert that ended the
// connection), from the error queue's first entry and the verify result.
FailureReason classify_handshake_failure(const SSL* ssl);
// The same from an error already taken off the queue (`error`: a packed
// ERR_get_error() code, as Asio's SSL error category holds it).
FailureReason classify_handshake_failure(const SSL* ssl, unsigned long error);

// A resumed session that recheck_peer() (tls/revalidate.h) refused: the
// refusal's words say which check (explain_verify_failure()'s).
FailureReason classify_recheck_failure(std::string_view message);

// A peer that check_peer_certificate() (tls/peer_identity.h) refused under
// ctx: no certificate, a pin, or allowed_identities.
FailureReason classify_peer_refusal(const X509* cert, const Context& ctx);

// `sentence` with the reason appended the one way every failure line has it:
// "... [reason: unknown_ca]".
std::string with_reason(const std::string& sentence, FailureReason reason);

}  // namespace tlsgate::tls
