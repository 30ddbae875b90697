#include "tls/handshake_error.h"

#include <openssl/err.h>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "util/clock.h"
#include "util/strings.h"

namespace tlsgate::tls {

std::string explain_verify_failure(long verify_error, const X509* cert, const Context& ctx,
                                   const std::string& peer, const char* host) {
  std::string what =
      std::string(ctx.side == Side::kServer ? "client certificate " : "backend certificate ") +
      (cert ? pki::describe(cert, util::SystemClock::instance()).subject : "");
  if (verify_error == X509_V_ERR_HOSTNAME_MISMATCH ||
      verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return what + " from " + peer + " does not name " + (host ? host : "the dialled address") +
           "; reissue it with that name, or set upstream_server_name to a name it has";
  }
  return what + " from " + peer + " failed verification against ssl.policy." + ctx.policy.scope +
         ".trusted_dir: " + X509_verify_cert_error_string(verify_error);
}

std::string explain_handshake_failure(const SSL* ssl, const Context& ctx, const std::string& peer) {
  unsigned long first = ERR_peek_error();
  std::string detail = pki::drain_openssl_errors();
  int reason = ERR_GET_REASON(first);
  const auto& p = ctx.policy;
  std::string key = "ssl.policy." + p.scope + ".";
  bool server = ctx.side == Side::kServer;
  // Server side: the session's log line already names the client.
  std::string them = server ? "the client" : "backend " + peer;
  std::string issuer = ctx.certificate ? ctx.certificate->issuer : "none";
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return them + " offered no TLS version that " + key + "tls_versions allows (" +
             util::join(p.tls_versions, ",") + ")";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return them + " has no cipher suite or group in common with " + key +
             "ciphers/groups; compare with `tlsgate probe --enumerate`";
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
      return them + " offered no key-exchange group in " + key + "groups (" +
             util::join(p.groups, ",") + ")";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return them + " sent no certificate, but " + key + "client_auth is REQUIRE";
    case SSL_R_CERTIFICATE_VERIFY_FAILED: {
      const X509* cert = SSL_get0_peer_certificate(ssl);
      if (cert == nullptr) cert = rejected_peer_certificate(ssl);
      const char* host = X509_VERIFY_PARAM_get0_host(SSL_get0_param(const_cast<SSL*>(ssl)), 0);
      return explain_verify_failure(SSL_get_verify_result(ssl), cert, ctx, peer, host);
    }
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return them + " requires a client certificate; set " + key + "public_certificate and " + key +
             "private_key";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      return std::string(SSL_alert_desc_string_long(SSL_AD_CERTIFICATE_UNKNOWN)) + " from " + peer +
             ": the " + (server ? "client" : "backend") +
             " does not trust our certificate (issuer " + issuer +
             "); give it that CA, or use a certificate from a CA it trusts";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return "certificate_expired from " + peer +
             ": the peer says our certificate expired; renew " + p.public_certificate.string();
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return them + " spoke plain HTTP to a TLS port; use https://";
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return them + " offered no ALPN protocol this connector speaks";
    default:
      break;
  }
  if (detail.empty()) return them + " closed the connection during the TLS handshake";
  return "TLS with " + them + " failed: " + detail;
}

}  // namespace tlsgate::tls
