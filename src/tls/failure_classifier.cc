#include "tls/failure_classifier.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "pki/pin.h"
#include "tls/acme_answers.h"

namespace tlsgate::tls {

FailureReason classify_verify_error(long verify_error) {
  switch (verify_error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return FailureReason::kUnknownCa;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return FailureReason::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return FailureReason::kNotYetValid;
    case X509_V_ERR_CERT_REVOKED:
      return FailureReason::kRevoked;
    // A CRL whose dates refuse the peers it covers: past its nextUpdate
    // (stale_crl=REJECT), or before its lastUpdate.
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return FailureReason::kStaleCrl;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
      return FailureReason::kHostnameMismatch;
    // Only known_peers fails a chain this way (tls/known_peers.h).
    case X509_V_ERR_APPLICATION_VERIFICATION:
      return FailureReason::kUnknownPeer;
    default:
      return FailureReason::kOther;
  }
}

FailureReason classify_handshake_failure(const SSL* ssl) {
  return classify_handshake_failure(ssl, ERR_peek_error());
}

FailureReason classify_handshake_failure(const SSL* ssl, unsigned long error) {
  if (refused_pending_certificate(ssl)) return FailureReason::kCertificatePending;
  if (ERR_GET_LIB(error) != ERR_LIB_SSL) return FailureReason::kOther;
  switch (ERR_GET_REASON(error)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return FailureReason::kProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
      return FailureReason::kNoSharedCipher;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return FailureReason::kNoCertificate;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return ssl != nullptr ? classify_verify_error(SSL_get_verify_result(ssl))
                            : FailureReason::kOther;
    // The peer does not trust our certificate.
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      return FailureReason::kUnknownCa;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return FailureReason::kExpired;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      return FailureReason::kRevoked;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return FailureReason::kPlaintextRefused;
    default:
      return FailureReason::kOther;
  }
}

FailureReason classify_recheck_failure(std::string_view message) {
  if (message.find("certificate revoked") != std::string_view::npos) {
    return FailureReason::kRevoked;
  }
  if (message.find("is stale") != std::string_view::npos ||
      message.find("CRL") != std::string_view::npos) {
    return FailureReason::kStaleCrl;
  }
  if (message.find("expired") != std::string_view::npos) return FailureReason::kExpired;
  return FailureReason::kOther;
}

FailureReason classify_peer_refusal(const X509* cert, const Context& ctx) {
  if (cert == nullptr) return FailureReason::kNoCertificate;
  if (!ctx.pins.empty() && ctx.pins.count(pki::spki_sha256(cert)) == 0) {
    return FailureReason::kPinMismatch;
  }
  return FailureReason::kIdentityNotAllowed;
}

std::string with_reason(const std::string& sentence, FailureReason reason) {
  std::string out = sentence;
  out += " [reason: ";
  out += reason_name(reason);
  out += ']';
  return out;
}

}  // namespace tlsgate::tls
