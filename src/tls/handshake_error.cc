#include "tls/handshake_error.h"

#include "tls/policy_key.h"

#include <openssl/err.h>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "tls/acme_answers.h"
#include "tls/known_peers.h"
#include "util/clock.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

// Why a CRL in revoked_dir refused the peer (its dates), and what to do.
std::string explain_crl_refusal(long verify, const CrlFile* crl, const config::Policy& p) {
  const std::string key = "ssl.policy." + p.scope + ".";
  const std::string dir = p.revoked_dir.string();
  if (verify == X509_V_ERR_CRL_HAS_EXPIRED) {
    std::string which = crl ? "the CRL " + crl->file.string() + " from " + crl->issuer +
                                  " is stale (its nextUpdate " +
                                  (crl->next_update ? pki::format_time(*crl->next_update) : "?") +
                                  " has passed)"
                            : "a CRL in " + dir + " is stale (its nextUpdate has passed)";
    return which + " and " + key + "stale_crl is " + config::to_string(p.stale_crl) + "; " +
           (crl ? stale_crl_fix(p, *crl)
                : "put a fresh CRL from the issuer into " + dir + "; tlsgate reloads it");
  }
  std::string which = crl ? "the CRL " + crl->file.string() + " from " + crl->issuer +
                                " is not valid until " + pki::format_time(crl->last_update) +
                                " (its lastUpdate)"
                          : "a CRL in " + dir + " is not valid yet (its lastUpdate is ahead)";
  return which +
         ": this machine's clock is behind, or the CA dated the CRL ahead; fix the clock (NTP), "
         "or put a CRL with a current lastUpdate into " +
         dir;
}

// What a verify error means for the peer's certificate `cert` under the
// policy, appended to OpenSSL's words: which certificate or folder is at
// fault and what to do. "" when there is nothing to add.
std::string verify_advice(long verify, const X509* cert, const Context& ctx, util::SystemTime at) {
  if (cert == nullptr) return "";
  const auto& p = ctx.policy;
  const std::string key = "ssl.policy." + p.scope + ".";
  const std::string trusted = p.trusted_dir.string();
  const std::string holder = ctx.side == Side::kServer ? "client" : "backend";
  const auto info = pki::describe(cert, util::FixedClock(at));
  switch (verify) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return ": its issuer " + info.issuer + " is not among the CAs in " + trusted +
             "; put that CA's certificate there (tlsgate reloads it), or reissue the " + holder +
             "'s certificate from a CA that is";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return ": it is self-signed and not in " + trusted +
             "; put it there if you trust it, or use a certificate issued by a CA that is";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return ": its chain ends at a root that is not in " + trusted +
             "; put that root there if you trust it";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      if (!info.expired) {
        return ": a CA certificate of its chain has expired; renew that CA certificate (in the "
               "chain the " +
               holder + " sends, or in " + key + "trusted_dir)";
      }
      return ": it expired on " + info.not_after_text + "; the " + holder +
             " must renew its certificate";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      if (!info.not_yet_valid) return ": a CA certificate of its chain is not valid yet";
      return ": it is not valid until " + info.not_before_text +
             "; this machine's clock is behind or the certificate is dated ahead: check the "
             "clock (NTP)";
    case X509_V_ERR_CERT_REVOKED: {
      const CrlFile* crl = ctx.crl_for_issuer(X509_get_issuer_name(cert));
      return ": its issuer " + info.issuer + " revoked it (serial " + info.serial_hex + ")" +
             (crl ? " in the CRL " + crl->file.string() + " of " + key + "revoked_dir"
                  : " (a CRL in " + key + "revoked_dir or an OCSP answer)") +
             "; the " + holder + " needs a new certificate if it should keep its access";
    }
    case X509_V_ERR_INVALID_PURPOSE:
      return ctx.side == Side::kServer
                 ? ": it is not for TLS clients (its extendedKeyUsage lacks clientAuth); reissue "
                   "it for client use (tlsgate cert issue --client)"
                 : ": it is not for TLS servers (its extendedKeyUsage lacks serverAuth); reissue "
                   "it for server use (tlsgate cert issue --server)";
    default:
      return "";
  }
}

}  // namespace

std::string explain_verify_failure(long verify_error, const X509* cert, const Context& ctx,
                                   const std::string& peer, const char* host, const CrlFile* crl,
                                   std::optional<util::SystemTime> at) {
  std::string what =
      std::string(ctx.side == Side::kServer ? "client certificate " : "backend certificate ") +
      (cert ? pki::describe(cert, util::SystemClock::instance()).subject : "");
  if (verify_error == X509_V_ERR_HOSTNAME_MISMATCH ||
      verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return what + " from " + peer + " does not name " + (host ? host : "the dialled address") +
           "; reissue it with that name, or set upstream_server_name to a name it has";
  }
  if (verify_error == X509_V_ERR_APPLICATION_VERIFICATION && !ctx.policy.known_peers.empty()) {
    return explain_unknown_peer(cert, ctx.policy, ctx.side == Side::kServer, peer);
  }
  if (verify_error == X509_V_ERR_CRL_HAS_EXPIRED || verify_error == X509_V_ERR_CRL_NOT_YET_VALID) {
    if (crl == nullptr && cert != nullptr) crl = ctx.crl_for_issuer(X509_get_issuer_name(cert));
    return what + " from " + peer +
           " refused: " + explain_crl_refusal(verify_error, crl, ctx.policy);
  }
  // The trust errors are trusted_dir's; the others (dates, revocation, key
  // usage) are the certificate's own.
  const bool trust = verify_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                     verify_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                     verify_error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
                     verify_error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
                     verify_error == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                     verify_error == X509_V_ERR_CERT_UNTRUSTED;
  return what + " from " + peer + " failed verification" +
         (trust ? " against ssl.policy." + ctx.policy.scope + ".trusted_dir" : "") + ": " +
         X509_verify_cert_error_string(verify_error) +
         verify_advice(verify_error, cert, ctx, at.value_or(util::SystemClock::instance().now()));
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
  if (server && refused_pending_certificate(ssl)) {
    pki::clear_openssl_errors();
    return "refused: " + key + "public_certificate is still being obtained from the ACME server " +
           p.acme_directory + " (only its tls-alpn-01 checks are answered until then)";
  }
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
      return explain_verify_failure(SSL_get_verify_result(ssl), cert, ctx, peer, host,
                                    refusing_crl(ssl, ctx));
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
  // Not OpenSSL's own failure but the token's: our signature did not happen.
  if (config::is_pkcs11_uri(p.private_key) && ERR_GET_LIB(first) != ERR_LIB_SSL) {
    return "TLS with " + them + " failed: the token of " + key + "private_key (" +
           policy_key_source(p) + ") did not sign the handshake: " + detail +
           "; check that the token is present, then reload (SIGHUP)";
  }
  return "TLS with " + them + " failed: " + detail;
}

}  // namespace tlsgate::tls
