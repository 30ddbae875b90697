// Checks tlsgate applies to a peer after OpenSSL's chain verification:
// public-key pins and identity allow-lists (NATS verify_and_map).
//
// check_peer() runs on the connection's thread right after a successful
// handshake. It returns the peer's identity (empty when the peer sent no
// certificate, which client_auth=OPTIONAL permits) or an error sentence a
// person can act on, e.g. "client certificate CN=app2 is not in
// ssl.policy.pg.allowed_identities".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "config/settings.h"
#include "tls/context.h"
#include "util/result.h"

namespace tlsgate::tls {

struct PeerIdentity {
  bool presented = false;  // the peer sent a certificate
  std::string subject;     // RFC 2253 subject of its leaf
  std::string identity;    // mapped per identity_from ("" if none)
};

// Candidate identities of a certificate under a mapping, in order: one for
// subject and cn, every matching SAN for the san_* mappings.
std::vector<std::string> identities_of(const X509* cert, config::IdentityFrom from);

util::Result<PeerIdentity> check_peer(const SSL* ssl, const Context& ctx);
// The same checks of a certificate held apart from its SSL (null: the peer
// sent none), as a re-check of an established connection makes them.
util::Result<PeerIdentity> check_peer_certificate(const X509* cert, const Context& ctx);

}  // namespace tlsgate::tls
