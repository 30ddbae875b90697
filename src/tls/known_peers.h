// known_peers (ssl.policy.<scope>.known_peers): the peers a cluster link
// accepts, by the names their certificates carry (NATS `verify` with known
// route URLs, RFC 6125 §6.4.3).
//
// When the list is not empty, a peer certificate — a client's on an
// incoming connector, a backend's on an outgoing link — is accepted only if,
// on top of chain verification, one of its subjectAltNames matches an entry:
//  - a DNS name entry matches a SAN DNS name equal to it; a left-most `*`
//    label (in the entry, or in the SAN) stands for exactly one whole label:
//    `*.cluster.test` matches `node-b.cluster.test`, not
//    `x.node-b.cluster.test`, not `cluster.test`; `*` alone and partial
//    labels (`node*.test`) match nothing;
//  - an IP literal entry matches a SAN IP address equal to it;
//  - a URL entry (`nats://node-b:6222`, `https://x`) matches a SAN URI equal
//    to it, and its host matches SAN DNS names (and IP addresses) as above.
// Comparisons ignore case. The subject CN is never used.
//
// context.cc applies peer_is_known() in the chain verification of every
// context whose policy has known_peers (handshakes and re-checks of
// established connections alike); a peer it refuses fails verification with
// X509_V_ERR_APPLICATION_VERIFICATION, classified as unknown_peer and
// explained by explain_unknown_peer(). Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "config/settings.h"

namespace tlsgate::tls {

// RFC 6125 §6.4.3: `pattern` (maybe `*.rest`) against the DNS name `name`.
bool dns_name_matches(std::string_view pattern, std::string_view name);

// Whether one of cert's SANs matches one entry of known_peers.
bool peer_is_known(const X509* cert, const std::vector<std::string>& known_peers);

// The SANs cert presents, as "DNS:a, URI:nats://b:6222, IP:10.0.0.1", or
// "no subjectAltName".
std::string presented_names(const X509* cert);

// "client certificate CN=x (serial 1f) from PEER presents DNS:a, URI:b, none of
// which ssl.policy.S.known_peers lists (node-b.test; *.cluster.test); ..."
std::string explain_unknown_peer(const X509* cert, const config::Policy& policy, bool server_side,
                                 const std::string& peer);

}  // namespace tlsgate::tls
