#include "tls/probe_verdict.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "tls/failure_classifier.h"
#include "util/clock.h"

namespace tlsgate::tls {

ProbeVerdict explain_probe_verify(long verify_error, const X509* leaf, const std::string& name,
                                  const std::string& trust) {
  ProbeVerdict v;
  v.reason = classify_verify_error(verify_error);
  std::string subject = leaf ? pki::subject_of(leaf) : std::string("(none)");
  std::string issuer = leaf ? pki::name_to_string(X509_get_issuer_name(leaf)) : "";
  std::string what = X509_verify_cert_error_string(verify_error);
  switch (v.reason) {
    case FailureReason::kUnknownCa:
      v.message = "the certificate " + subject + " (issuer " + issuer +
                  ") does not chain to a CA in " + trust + " (" + what +
                  "); pass the issuing CA with --ca FILE, or have the server send its "
                  "intermediate certificates";
      break;
    case FailureReason::kHostnameMismatch:
      v.message = "the certificate " + subject + " does not name " + name +
                  "; dial a name it carries (or pass it with --servername), or reissue the "
                  "certificate with " +
                  name + " in its subjectAltName";
      break;
    case FailureReason::kExpired:
      v.message = "a certificate of the chain has expired (" + what + "; leaf " + subject +
                  "); the server must be given a renewed certificate";
      break;
    case FailureReason::kNotYetValid:
      v.message = "a certificate of the chain is not valid yet (" + what +
                  "); check this machine's clock and the server's";
      break;
    default:
      v.message =
          "the certificate " + subject + " failed verification against " + trust + ": " + what;
      break;
  }
  return v;
}

namespace {

// What a server that wanted a client certificate and got none ends the
// handshake with: TLS 1.2 has no certificate_required alert, so OpenSSL says
// handshake_failure, Java bad_certificate, others certificate_unknown,
// unknown_ca or access_denied, or simply close.
bool refuses_missing_certificate(int reason) {
  switch (reason) {
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return true;
    default:
      return false;
  }
}

}  // namespace

ProbeVerdict explain_probe_handshake(const SSL* ssl, const std::string& peer,
                                     bool certificate_unanswered) {
  ProbeVerdict v;
  v.reason = classify_handshake_failure(ssl);
  unsigned long first = ERR_peek_error();
  std::string detail = pki::drain_openssl_errors();
  int reason = ERR_GET_LIB(first) == ERR_LIB_SSL ? ERR_GET_REASON(first) : 0;
  // It asked for a certificate, none was sent, and it ended the handshake:
  // what it ended it with says why only in TLS 1.3 (certificate_required).
  std::string asked;
  if (certificate_unanswered && refuses_missing_certificate(reason)) {
    v.reason = FailureReason::kNoCertificate;
    asked = reason == SSL_R_UNEXPECTED_EOF_WHILE_READING
                ? " (most likely: it asked for one, none was sent, and it closed the connection)"
                : " (it asked for one, none was sent, and it ended the handshake: " + detail + ")";
  }
  switch (v.reason) {
    case FailureReason::kProtocolVersion:
      v.message = peer + " and this client have no TLS version in common (" + detail +
                  "); `tlsgate probe --enumerate` lists the versions it accepts";
      return v;
    case FailureReason::kNoSharedCipher:
      v.message = peer + " has no cipher suite or key-exchange group in common with this client (" +
                  detail + "); `tlsgate probe --enumerate` lists what it accepts";
      return v;
    case FailureReason::kNoCertificate:
      v.message =
          peer + " requires a client certificate; pass one with --cert FILE --key FILE" + asked;
      return v;
    case FailureReason::kUnknownCa:
      v.message = peer + " does not trust the client certificate sent (alert: " + detail +
                  "); use a certificate from a CA it trusts";
      return v;
    case FailureReason::kExpired:
      v.message = peer + " says the client certificate expired; renew it";
      return v;
    case FailureReason::kRevoked:
      v.message = peer + " says the client certificate is revoked";
      return v;
    default:
      break;
  }
  if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_UNKNOWN_PROTOCOL ||
      reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
    v.message = peer +
                " did not answer in TLS; is it a plaintext port, or does it need --starttls "
                "postgres|mysql|nats? (" +
                detail + ")";
    return v;
  }
  if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) detail.clear();
  v.message = detail.empty() ? peer + " closed the connection during the TLS handshake"
                             : "the TLS handshake with " + peer + " failed: " + detail;
  return v;
}

}  // namespace tlsgate::tls
