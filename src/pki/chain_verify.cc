#include "pki/chain_verify.h"

#include <openssl/x509_vfy.h>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

bool is_ip_literal(const std::string& host) {
  Asn1OctetStringPtr ip(a2i_IPADDRESS(host.c_str()));
  clear_openssl_errors();
  return ip != nullptr;
}

std::string names_listed(const X509* cert) {
  auto info = describe(cert, util::SystemClock::instance());
  std::vector<std::string> names;
  for (const auto& n : info.san_dns) names.push_back(san_text("DNS:", n));
  for (const auto& n : info.san_ip) names.push_back(san_text("IP:", n));
  if (names.empty()) return "it lists no DNS or IP names";
  return "it lists " + util::join(names, ", ");
}

// " (detail); fix" for the reasons people meet most; "" otherwise.
std::string explain(int err, const X509* cert, const std::vector<X509CrlPtr>& crls,
                    const VerifyOptions& options) {
  auto time_of = [](const ASN1_TIME* t) { return format_time(to_system_time(t)); };
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return " (notAfter " + time_of(X509_get0_notAfter(cert)) + "); renew it";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return " (notBefore " + time_of(X509_get0_notBefore(cert)) +
             "); check this machine's clock, or wait until then";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return " (issuer " + name_to_string(X509_get_issuer_name(cert)) +
             "); put the issuer's certificate into the trusted folder";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return "; put this certificate into the trusted folder if you trust it";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "; put the root certificate into the trusted folder if you trust it";
    case X509_V_ERR_CERT_REVOKED:
      return "; issue a new certificate to replace it";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return " (no CRL from " + name_to_string(X509_get_issuer_name(cert)) +
             "); put the issuer's CRL into the revoked folder, or turn revocation checks off";
    case X509_V_ERR_CRL_HAS_EXPIRED: {
      // The store context forgets the CRL it looked at once verification ends; find it again.
      std::string next;
      for (const auto& crl : crls) {
        const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl.get());
        if (t && X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert)) == 0) {
          next = " (nextUpdate " + time_of(t) + ")";
        }
      }
      return next + "; fetch a fresh CRL from the issuer into the revoked folder";
    }
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return "; check this machine's clock";
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return "; the CRL was not signed by the certificate's issuer, replace it with the issuer's "
             "CRL";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "; the certificate was altered or signed by another key, reissue it";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return " (wanted " + options.hostname.value_or("") + "; " + names_listed(cert) +
             "); connect with a name the certificate lists, or reissue it with this name";
    case X509_V_ERR_INVALID_PURPOSE:
      if (options.purpose == VerifyOptions::Purpose::kServer) {
        return " (not for TLS servers); reissue it with --server";
      }
      if (options.purpose == VerifyOptions::Purpose::kClient) {
        return " (not for TLS clients); reissue it with --client";
      }
      return "";
    case X509_V_ERR_INVALID_CA:
      return "; its issuer is not a CA, issue it from a CA certificate";
    default:
      return "";
  }
}

util::Error verify_error(X509_STORE_CTX* ctx, const X509* leaf, const std::vector<X509CrlPtr>& crls,
                         const VerifyOptions& options) {
  int err = X509_STORE_CTX_get_error(ctx);
  const X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  if (cert == nullptr) cert = leaf;
  return util::Error("certificate " + subject_of(cert) + " (serial " + serial_to_hex(cert) + "): " +
                     X509_verify_cert_error_string(err) + explain(err, cert, crls, options));
}

}  // namespace

util::Status verify_chain(const X509* leaf, const std::vector<X509Ptr>& untrusted,
                          const std::vector<X509Ptr>& trusted, const std::vector<X509CrlPtr>& crls,
                          const VerifyOptions& options) {
  clear_openssl_errors();
  X509StorePtr store(X509_STORE_new());
  X509StackPtr chain(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !chain || !ctx) return util::fail(openssl_error("cannot set up verification"));
  for (const auto& cert : trusted) {
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return util::fail(openssl_error("cannot add trusted certificate " + subject_of(cert.get())));
    }
  }
  for (const auto& crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1) {
      return util::fail(
          openssl_error("cannot add a CRL of " + name_to_string(X509_CRL_get_issuer(crl.get()))));
    }
  }
  for (const auto& cert : untrusted) {
    X509Ptr ref = up_ref(cert.get());
    if (sk_X509_push(chain.get(), ref.get()) == 0)
      return util::fail(openssl_error("out of memory"));
    ref.release();  // now owned by chain
  }
  // X509_STORE_CTX_init keeps the leaf pointer for the call only; it does not modify it.
  if (X509_STORE_CTX_init(ctx.get(), store.get(), unconst(leaf), chain.get()) != 1) {
    return util::fail(openssl_error("cannot set up verification"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = 0;
  if (options.check_crls) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  if (!options.check_time) flags |= X509_V_FLAG_NO_CHECK_TIME;
  if (options.partial_chain) flags |= X509_V_FLAG_PARTIAL_CHAIN;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (options.at)
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(*options.at));
  if (options.purpose != VerifyOptions::Purpose::kAny) {
    int purpose = options.purpose == VerifyOptions::Purpose::kServer ? X509_PURPOSE_SSL_SERVER
                                                                     : X509_PURPOSE_SSL_CLIENT;
    X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  }
  if (options.hostname) {
    const std::string& host = *options.hostname;
    bool ok = is_ip_literal(host)
                  ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                  : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    if (!ok)
      return util::fail(openssl_error("\"" + host + "\" is not a valid host name or IP address"));
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  int rc = X509_verify_cert(ctx.get());
  if (rc == 1) {
    clear_openssl_errors();
    return {};
  }
  if (X509_STORE_CTX_get_error(ctx.get()) == X509_V_OK) {
    return util::fail(openssl_error("certificate " + subject_of(leaf) + ": cannot verify"));
  }
  clear_openssl_errors();
  return util::fail(verify_error(ctx.get(), leaf, crls, options));
}

const X509* find_issuer(const X509* cert, const std::vector<X509Ptr>& candidates) {
  for (const auto& cand : candidates) {
    // Both calls only read (and fill OpenSSL's extension caches).
    if (X509_check_issued(cand.get(), unconst(cert)) == X509_V_OK &&
        X509_verify(unconst(cert), X509_get0_pubkey(cand.get())) == 1) {
      clear_openssl_errors();
      return cand.get();
    }
  }
  clear_openssl_errors();
  return nullptr;
}

}  // namespace tlsgate::pki
