// The verdicts `tlsgate probe` prints, in words a person can act on.
//
// The reason word comes from the gate's own classifier (tls/failure_classifier.h),
// so a probe and the gate's log name a failure the same way ("unknown_ca",
// "hostname_mismatch", ...); the sentence says what the prober can do
// (pass --ca, dial the name the certificate carries, renew), where the gate's
// sentences (tls/handshake_error.h) name ssl.policy keys. No I/O, any thread.
#pragma once

#include <string>

#include <openssl/ssl.h>

#include "tls/failure_reason.h"

namespace tlsgate::tls {

struct ProbeVerdict {
  FailureReason reason = FailureReason::kOther;
  std::string message;
};

// A chain that OpenSSL's verification refused with `verify_error`
// (X509_V_ERR_*). `leaf` the server's certificate (may be null), `name` the
// name it had to carry, `trust` where the trusted CAs came from ("--ca
// ca.pem", "the system store").
ProbeVerdict explain_probe_verify(long verify_error, const X509* leaf, const std::string& name,
                                  const std::string& trust);

// A handshake that SSL_connect() refused: reads (and drains) the thread's
// OpenSSL error queue. `peer` is the address dialled. `certificate_unanswered`:
// the server sent a CertificateRequest and this client had no certificate to
// send, so an alert after it (a TLS 1.2 server says handshake_failure, not
// certificate_required) is the missing certificate, not a cipher problem.
ProbeVerdict explain_probe_handshake(const SSL* ssl, const std::string& peer,
                                     bool certificate_unanswered = false);

}  // namespace tlsgate::tls
