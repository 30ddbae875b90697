#include "tls/revalidate.h"

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "pki/certificate_info.h"
#include "pki/handles.h"
#include "pki/openssl_error.h"
#include "tls/handshake_error.h"
#include "tls/server_name.h"

namespace tlsgate::tls {
namespace {

struct Verdict {
  long error = X509_V_OK;  // X509_V_ERR_*
  std::string refusal;     // "" when it verified
};

// The chain cannot be built: the peer's issuer is neither sent nor trusted.
bool issuer_unknown(long error) {
  return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
         error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

// What SSL_do_handshake's ssl_verify_cert_chain() sets up, with the
// context's parameters in place of an SSL's.
Verdict verify_chain(const ConnectedPeer& peer, const Context& ctx, util::SystemTime now) {
  SSL_CTX* ssl_ctx = ctx.ssl_ctx.get();
  pki::X509StoreCtxPtr store_ctx(X509_STORE_CTX_new());
  if (!store_ctx || X509_STORE_CTX_init(store_ctx.get(), SSL_CTX_get_cert_store(ssl_ctx),
                                        pki::unconst(peer.leaf), peer.sent) != 1) {
    return {X509_V_ERR_OUT_OF_MEM,
            pki::openssl_error("cannot re-check " + peer.address + " (out of memory?)").message()};
  }
  X509_STORE_CTX_set_default(store_ctx.get(),
                             ctx.side == Side::kServer ? "ssl_client" : "ssl_server");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store_ctx.get());
  X509_VERIFY_PARAM_set1(param, SSL_CTX_get0_param(ssl_ctx));
  X509_VERIFY_PARAM_set_auth_level(param, SSL_CTX_get_security_level(ssl_ctx));
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(now));
  std::string host;
  if (ctx.side == Side::kClient && ctx.policy.verify_hostname && !peer.expected_name.empty()) {
    host = peer.expected_name;
    expect_name(param, host);
  }
  if (auto* callback = SSL_CTX_get_verify_callback(ssl_ctx); callback != nullptr) {
    X509_STORE_CTX_set_verify_cb(store_ctx.get(), callback);
  }
  int ok = X509_verify_cert(store_ctx.get());
  long error = X509_STORE_CTX_get_error(store_ctx.get());
  pki::clear_openssl_errors();
  if (ok == 1) return {};
  return {error, explain_verify_failure(error, peer.leaf, ctx, peer.address,
                                        host.empty() ? nullptr : host.c_str(), nullptr, now)};
}

// A leaf whose chain cannot be built again: its validity period, and the
// CRLs of ctx's revoked_dir from its issuer (their signatures unchecked:
// the issuer's key is what is missing; they are the operator's files).
util::Status check_leaf_alone(const ConnectedPeer& peer, const Context& ctx, util::SystemTime now) {
  time_t at = std::chrono::system_clock::to_time_t(now);
  long error = X509_V_OK;
  if (X509_cmp_time(X509_get0_notAfter(peer.leaf), &at) < 0) error = X509_V_ERR_CERT_HAS_EXPIRED;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.ssl_ctx.get());
  const X509_NAME* issuer = X509_get_issuer_name(peer.leaf);
  X509_STORE_lock(store);
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; error == X509_V_OK && i < sk_X509_OBJECT_num(objects); ++i) {
    X509_CRL* crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objects, i));
    if (crl == nullptr || X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0) continue;
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_cert(crl, &entry, pki::unconst(peer.leaf)) == 1) {
      error = X509_V_ERR_CERT_REVOKED;
    }
  }
  X509_STORE_unlock(store);
  pki::clear_openssl_errors();
  if (error == X509_V_OK) return {};
  return util::fail(
      explain_verify_failure(error, peer.leaf, ctx, peer.address, nullptr, nullptr, now));
}

// A ticket's application data: this tag, then the DER certificates the
// client sent after its leaf (none when it sent only its leaf).
constexpr char kTicketChainTag = 1;
constexpr int kTicketChainMax = 10;

// OpenSSL's generate_ticket_cb: runs before each ticket is encrypted.
// A resumed session's new ticket is a copy of the old one: it keeps its data.
int keep_chain(SSL* ssl, void* /*arg*/) {
  SSL_SESSION* session = SSL_get_session(ssl);
  if (session == nullptr || SSL_session_reused(ssl) == 1 ||
      SSL_get0_peer_certificate(ssl) == nullptr) {
    return 1;
  }
  std::string data(1, kTicketChainTag);
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; sent != nullptr && i < sk_X509_num(sent) && i < kTicketChainMax; ++i) {
    unsigned char* der = nullptr;
    int size = i2d_X509(sk_X509_value(sent, i), &der);
    if (size <= 0) {
      pki::clear_openssl_errors();
      return 1;  // no chain kept: a resumption is checked as before
    }
    data.append(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
    OPENSSL_free(der);
  }
  if (SSL_SESSION_set1_ticket_appdata(session, data.data(), data.size()) != 1) {
    pki::clear_openssl_errors();
  }
  return 1;
}

std::shared_ptr<STACK_OF(X509)> chain_from_ticket(const SSL* ssl) {
  auto* session = const_cast<SSL_SESSION*>(SSL_get0_session(ssl));
  void* data = nullptr;
  size_t size = 0;
  if (session == nullptr || SSL_SESSION_get0_ticket_appdata(session, &data, &size) != 1 ||
      size == 0 || static_cast<const char*>(data)[0] != kTicketChainTag) {
    return nullptr;
  }
  pki::X509StackPtr chain(sk_X509_new_null());
  const auto* p = static_cast<const unsigned char*>(data) + 1;
  const auto* end = static_cast<const unsigned char*>(data) + size;
  while (chain && p < end) {
    pki::X509Ptr cert(d2i_X509(nullptr, &p, end - p));
    if (!cert || sk_X509_push(chain.get(), cert.get()) <= 0) {
      pki::clear_openssl_errors();
      return nullptr;
    }
    cert.release();  // the stack owns it
  }
  return std::shared_ptr<STACK_OF(X509)>(std::move(chain));
}

}  // namespace

void keep_peer_chain_in_tickets(SSL_CTX* ctx) {
  SSL_CTX_set_session_ticket_cb(ctx, &keep_chain, nullptr, nullptr);
}

ConnectedPeer connected_peer(const SSL* ssl, std::string address, std::string expected_name) {
  ConnectedPeer peer;
  peer.leaf = SSL_get0_peer_certificate(ssl);
  peer.sent = SSL_get_peer_cert_chain(ssl);
  peer.resumed = SSL_session_reused(pki::unconst(ssl)) == 1;
  if (peer.resumed && peer.leaf != nullptr) {
    peer.ticket_chain = chain_from_ticket(ssl);
    if (peer.ticket_chain) peer.sent = peer.ticket_chain.get();
  }
  peer.address = std::move(address);
  peer.expected_name = std::move(expected_name);
  return peer;
}

util::Result<PeerIdentity> recheck_peer(const ConnectedPeer& peer, const Context& ctx,
                                        util::SystemTime now, const Context* admitted) {
  const auto& policy = ctx.policy;
  bool asks = ctx.side == Side::kClient || policy.client_auth != config::ClientAuth::kNone;
  const X509* leaf = asks ? peer.leaf : nullptr;
  if (leaf == nullptr) {
    if (ctx.side == Side::kServer && policy.client_auth == config::ClientAuth::kRequire) {
      return util::fail("the client sent no certificate, but ssl.policy." + policy.scope +
                        ".client_auth is REQUIRE");
    }
    return check_peer_certificate(nullptr, ctx);
  }
  ConnectedPeer checked = peer;
  checked.leaf = leaf;
  if (auto verdict = verify_chain(checked, ctx, now); !verdict.refusal.empty()) {
    // A resumed session's chain is gone. When the context that admitted it
    // cannot build it either, the change is not the cause: check the leaf alone.
    bool chain_gone = checked.resumed && !checked.ticket_chain && issuer_unknown(verdict.error) &&
                      admitted != nullptr &&
                      issuer_unknown(verify_chain(checked, *admitted, now).error);
    if (!chain_gone) return util::fail(verdict.refusal);
    if (auto st = check_leaf_alone(checked, ctx, now); !st) return util::fail(st.error());
  }
  return check_peer_certificate(leaf, ctx);
}

std::optional<util::SystemTime> peer_expiry(const SSL* ssl) {
  const X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return std::nullopt;
  util::SystemTime earliest = pki::to_system_time(X509_get0_notAfter(leaf));
  auto take = [&earliest](STACK_OF(X509) * chain) {
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      earliest =
          std::min(earliest, pki::to_system_time(X509_get0_notAfter(sk_X509_value(chain, i))));
    }
  };
  STACK_OF(X509)* verified = SSL_get0_verified_chain(ssl);
  if (verified != nullptr && sk_X509_num(verified) > 0) {
    take(verified);
  } else if (auto kept = chain_from_ticket(ssl)) {
    take(kept.get());
  } else {
    take(SSL_get_peer_cert_chain(ssl));
  }
  return earliest;
}

std::string certificate_sha256(const X509& cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(&cert, EVP_sha256(), digest, &size) != 1) {
    pki::clear_openssl_errors();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace tlsgate::tls
