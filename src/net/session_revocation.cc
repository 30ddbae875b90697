// Session: revocation_checks by OCSP (net/ocsp_engine.h) for the peer of
// each side: at the handshake, and for established peers once a reload
// turns the checks on.
#include <algorithm>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "net/session.h"

namespace tlsgate::net {

// revocation_checks: after the handshake and the peer checks, before a
// byte is forwarded. The engine answers on its own thread; the answer comes
// back to this one, and a timer bounds the wait (the session lives through
// it). CRLs were already applied by the handshake.
PeerQuery Session::revocation_query(bool client, const tls::Context& ctx) {
  SSL* ssl = client ? client_.ssl() : upstream_->ssl();
  PeerQuery query;
  query.leaf = pki::up_ref(SSL_get0_peer_certificate(ssl));
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (chain != nullptr && sk_X509_num(chain) > 1)
    query.issuer = pki::up_ref(sk_X509_value(chain, 1));
  query.responder = ctx.policy.ocsp_responder;
  const unsigned char* stapled = nullptr;
  long stapled_size = client ? 0 : SSL_get_tlsext_status_ocsp_resp(ssl, &stapled);
  if (stapled != nullptr && stapled_size > 0) {
    query.stapled.assign(reinterpret_cast<const char*>(stapled), static_cast<size_t>(stapled_size));
  }
  return query;
}

void Session::check_revocation(bool client, void (Session::*then)()) {
  const tls::Context& ctx = client ? *client_ctx_ : *upstream_ctx_;
  SSL* ssl = client ? client_.ssl() : upstream_->ssl();
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (ctx.policy.revocation_checks == config::RevocationChecks::kNone || leaf == nullptr ||
      connector_.ocsp == nullptr || ctx.policy.trust_all) {
    return (this->*then)();
  }
  PeerQuery query = revocation_query(client, ctx);
  revocation_then_ = then;
  revocation_client_ = client;
  // A late answer (after the timer gave up) must not be taken for the next check's.
  const uint32_t seq = ++revocation_seq_;
  const auto wait = std::min<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(ctx.policy.handshake_timeout),
      kRevocationWait);
  timer_.expires_after(wait);
  timer_.async_wait(
      [this, self = shared_from_this(), wait, seq](const boost::system::error_code& ec) {
        if (ec || closed_) return;
        on_revocation(seq, {PeerStatus::Kind::kUnavailable,
                            fmt::format("no OCSP answer within {}s",
                                        std::chrono::duration<double>(wait).count())});
      });
  // Held for the session's life: the engine asks again while it is open.
  (client ? client_hold_ : upstream_hold_) = connector_.ocsp->check(
      std::move(query), [weak = weak_from_this(), ex = timer_.get_executor(), seq](PeerStatus s) {
        boost::asio::post(ex, [weak, s = std::move(s), seq] {
          if (auto self = weak.lock()) self->on_revocation(seq, s);
        });
      });
}

void Session::on_revocation(uint32_t seq, const PeerStatus& status) {
  if (closed_ || revocation_then_ == nullptr || seq != revocation_seq_) return;
  auto then = std::exchange(revocation_then_, nullptr);
  timer_.cancel();
  const bool client = revocation_client_;
  const tls::Context& ctx = client ? *client_ctx_ : *upstream_ctx_;
  const std::string key = "ssl.policy." + ctx.policy.scope + ".revocation_checks";
  const std::string who =
      client ? "client certificate"
             : "backend " + config::to_string(connector_.settings.upstream_address);
  auto refuse = [&](tls::FailureReason reason, const std::string& why) {
    if (client) {
      connector_.stats.handshake_failures.fetch_add(1, std::memory_order_relaxed);
      return refuse_client(reason, why);
    }
    fail_upstream(reason, why);
  };
  switch (status.kind) {
    case PeerStatus::Kind::kGood:
      log(spdlog::level::debug, "{}", status.detail);
      return (this->*then)();
    case PeerStatus::Kind::kRevoked:
      connector_.stats.peers_revoked.fetch_add(1, std::memory_order_relaxed);
      return refuse(tls::FailureReason::kRevoked,
                    fmt::format("{} refused: {} ({})", who, status.detail, key));
    case PeerStatus::Kind::kUnknown:
    case PeerStatus::Kind::kUnavailable:
      break;
  }
  // The handshake already applied a CRL of the peer's issuer: a fresh one
  // establishes its status as well as an OCSP answer would.
  SSL* ssl = client ? client_.ssl() : upstream_->ssl();
  const X509* leaf = SSL_get0_peer_certificate(ssl);
  const tls::CrlFile* crl =
      leaf != nullptr ? ctx.crl_for_issuer(X509_get_issuer_name(leaf)) : nullptr;
  if (crl != nullptr && !crl->stale_at(util::SystemClock::instance().now())) {
    log(spdlog::level::debug, "{}; status established by the CRL {}", status.detail,
        crl->file.string());
    return (this->*then)();
  }
  if (ctx.policy.revocation_checks == config::RevocationChecks::kStrict) {
    connector_.stats.revocation_unknown_refused.fetch_add(1, std::memory_order_relaxed);
    return refuse(
        tls::FailureReason::kRevocationUnknown,
        fmt::format("{} refused: its revocation status cannot be established: {} ({}={})", who,
                    status.detail, key, config::to_string(ctx.policy.revocation_checks)));
  }
  connector_.stats.revocation_soft_fails.fetch_add(1, std::memory_order_relaxed);
  counters_->revocation_soft_fails.add();
  if (auto held_back = connector_.failure_log.admit()) {
    log(spdlog::level::warn, "{} let in without a revocation status: {} ({}={})", who,
        status.detail, key, config::to_string(ctx.policy.revocation_checks));
  }
  (this->*then)();
}

void Session::watch_revocation(tls::Side side, const tls::Context& ctx) {
  const bool client = side == tls::Side::kServer;
  auto& hold = client ? client_hold_ : upstream_hold_;
  if (hold.holds() || ctx.policy.revocation_checks == config::RevocationChecks::kNone ||
      ctx.policy.trust_all || connector_.ocsp == nullptr ||
      SSL_get0_peer_certificate(client ? client_.ssl() : upstream_->ssl()) == nullptr) {
    return;
  }
  // An answer from the engine's cache comes only here, not to the engine's
  // on_peer_revoked: a revoked one closes this connection itself.
  hold = connector_.ocsp->check(
      revocation_query(client, ctx),
      [weak = weak_from_this(), ex = timer_.get_executor()](PeerStatus s) {
        if (s.kind != PeerStatus::Kind::kRevoked) return;
        boost::asio::post(ex, [weak, detail = std::move(s.detail)] {
          auto self = weak.lock();
          if (self && !self->closed_) {
            self->close_revalidated(RevalidationClose::kRevoked,
                                    fmt::format("after a revocation check: {}", detail));
          }
        });
      });
}

}  // namespace tlsgate::net
