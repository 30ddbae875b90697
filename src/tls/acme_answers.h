// ACME TLS-ALPN-01 answers (RFC 8737) on the gate's own listeners.
//
// An ACME CA checks control of a name by opening TLS to it with SNI = that
// name and ALPN = exactly "acme-tls/1", and looks for a self-signed
// certificate carrying the digest of the key authorization
// (pki/acme_challenge.h). The gate answers on the connector's own port:
//
// - A ClientHello whose only ALPN protocol is acme-tls/1 and whose SNI names
//   a published challenge is switched to that challenge's context before
//   anything else is decided: it gets the challenge certificate, is never
//   asked for a client certificate, gets no session ticket, and after the
//   handshake the session closes it without forwarding a byte
//   (answered_acme_challenge()).
// - Every other client sees the policy as it is: client_auth, pins and
//   tickets stay intact. A client asking for acme-tls/1 with an SNI no
//   challenge is published for is refused (unrecognized_name).
// - While the policy has no certificate yet (ACME still obtaining the first
//   one, Context::acme_pending), every other client is refused at its
//   ClientHello; refused_pending_certificate() tells the session why.
//
// For an IP identifier (RFC 8738 §6) the CA sends the reverse-DNS name of
// the address as SNI ("4.3.2.1.in-addr.arpa"): acme_sni() maps it.
//
// The store is shared by every policy of a gate and written by the ACME
// thread while the workers read it; all of it is thread-safe.
#pragma once

#include <openssl/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tls/ssl_handles.h"
#include "util/mutex.h"
#include "util/result.h"

namespace tlsgate::tls {

inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

class AcmeChallengeStore {
 public:
  // Answers tls-alpn-01 for `identifier` (DNS name or IP literal) with this
  // certificate and key until remove(); replaces an earlier one.
  util::Status add(const std::string& identifier, X509* certificate, EVP_PKEY* key);
  void remove(const std::string& identifier);
  size_t size() const;

  // The challenge context for a ClientHello whose SNI is `sni` (any case),
  // up-referenced; null when none is published.
  SslCtxPtr find(std::string_view sni) const;

 private:
  mutable util::Mutex mu_;
  std::map<std::string, SslCtxPtr> by_sni_ GUARDED_BY(mu_);
};

// The SNI a validator sends for `identifier`: a DNS name lower-cased, an IP
// literal as its reverse-DNS name (in-addr.arpa / ip6.arpa).
std::string acme_sni(std::string_view identifier);

// What a server context's ClientHello hook needs; owned by the Context.
struct AcmeHook {
  std::shared_ptr<const AcmeChallengeStore> store;
  bool pending = false;  // no certificate yet: refuse every non-challenge client
};

// Installs the hook on a server SSL_CTX; `hook` must outlive it.
void install_acme_hook(SSL_CTX* ctx, const AcmeHook* hook);

// After a completed handshake: the SNI of the challenge this connection was
// answered for, or null (an ordinary client).
const std::string* answered_acme_challenge(const SSL* ssl);

// After a failed handshake: the hook refused the client because the policy
// has no certificate yet.
bool refused_pending_certificate(const SSL* ssl);

}  // namespace tlsgate::tls
