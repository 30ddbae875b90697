// Re-checking an established connection's peer against a (new) Context —
// the tls half of ssl.policy.<scope>.revalidate_established (net/session_table.h
// is the other half: who is checked, when, and the closing).
//
// recheck_peer() answers "would `ctx` refuse this peer if it connected now?"
// with the checks of a handshake, in their order and in their words:
//  1. the certificate request: a server context with client_auth=NONE asks
//     for none (the peer would be anonymous), REQUIRE refuses a peer without;
//  2. chain verification against ctx's X509_STORE — its trusted_dir, the
//     CRLs of revoked_dir and the store's flags — with the context's own
//     verify callback (a CA without a CRL is no error; trust_all passes
//     everything), the handshake's purpose (ssl_client for a client, ssl_server
//     for a backend), security level and, for a backend under verify_hostname,
//     the name dialled; at the time `now`, so an expired certificate fails;
//  3. check_peer_certificate(): pinned_certs and allowed_identities.
// A refusal reads like the handshake's ("client certificate CN=app1,O=x from
// 10.0.0.7:4711 failed verification: certificate revoked: its issuer CN=CA
// revoked it (serial 1f) in the CRL /c/revoked/ca.crl of
// ssl.policy.db.revoked_dir; ...", "... is not in
// ssl.policy.db.allowed_identities").
//
// No I/O, no event loop: it reads its arguments and the immutable Context,
// and may run on any thread; it leaves the thread's OpenSSL error queue empty.
//
// ConnectedPeer borrows the certificates from the live SSL, which keeps the
// peer's leaf and the chain it sent for as long as it lives, so a session
// holds nothing extra. The chain a server sees excludes the client's leaf;
// the chain a client sees starts with the backend's leaf (OpenSSL's
// SSL_get_peer_cert_chain), either is fine as the untrusted set.
//
// A resumed session keeps the peer's leaf but not the chain it sent first
// (OpenSSL does not put it in a ticket). Our server contexts do
// (keep_peer_chain_in_tickets): each ticket, encrypted under the ticket keys,
// carries the intermediates the client sent, so a resumed client is verified
// with exactly the chain of its full handshake, and a CA anywhere up that
// chain that lost its trust refuses it. Only a resumed session whose ticket
// carries no chain (not one of ours) falls back: when `admitted` — the
// context the session was admitted with — cannot build the chain either,
// the leaf is checked alone: its validity and the CRLs of revoked_dir from
// its issuer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "tls/context.h"
#include "tls/peer_identity.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::tls {

struct ConnectedPeer {
  const X509* leaf = nullptr;       // null: the peer sent no certificate
  STACK_OF(X509) * sent = nullptr;  // the certificates it sent, untrusted (may be null)
  std::string address;              // "ip:port", or the backend's host:port, for messages
  // A backend's: the name dialled (upstream_server_name), checked when the
  // context's policy says verify_hostname. "" for a client.
  std::string expected_name;
  bool resumed = false;  // a resumed session: `sent` is what its ticket kept, if anything
  // A resumed session's chain, read from its ticket (owned here; `sent`
  // points to it); null when the ticket kept none.
  std::shared_ptr<STACK_OF(X509)> ticket_chain;
};

// Server side: each session ticket `ctx` issues after a full handshake keeps
// the certificates the client sent after its leaf (at most 10), so that
// connected_peer() has them again when the session is resumed.
void keep_peer_chain_in_tickets(SSL_CTX* ctx);

// The peer of an SSL whose handshake completed; the pointers live as long as the SSL.
ConnectedPeer connected_peer(const SSL* ssl, std::string address, std::string expected_name = {});

// The peer's identity as `ctx` maps it, or why `ctx` would refuse it at
// `now`. `admitted`: the context the connection was admitted with (for a
// resumed session, see above); null: none known.
util::Result<PeerIdentity> recheck_peer(const ConnectedPeer& peer, const Context& ctx,
                                        util::SystemTime now, const Context* admitted = nullptr);

// When a peer that verified stops verifying by time alone: the earliest
// notAfter of its leaf and of the chain it verified with
// (SSL_get0_verified_chain; the leaf and what it sent after a resumption,
// which keeps no verified chain). nullopt: it sent no certificate.
std::optional<util::SystemTime> peer_expiry(const SSL* ssl);

// SHA-256 of a certificate's DER (32 raw bytes): how the revocation engine
// names a peer certificate it learned is revoked (net::Gate::close_peers).
std::string certificate_sha256(const X509& cert);

}  // namespace tlsgate::tls
