// Session: checking an established connection again (revalidate_established).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/session.h"
#include "tls/revalidate.h"

namespace tlsgate::net {

namespace {

const char* side_name(tls::Side side) {
  return side == tls::Side::kServer ? "incoming" : "outgoing";
}

}  // namespace

bool Session::on_peer_checked(tls::Side side) {
  bool server = side == tls::Side::kServer;
  (server ? client_checked_ : upstream_checked_) = true;
  if (sessions_ == nullptr) return true;
  sessions_->add(*this, connector_, tls::peer_expiry(server ? client_.ssl() : upstream_->ssl()));
  // The handshake ran with the snapshot taken at accept. A context published
  // since was re-checked on the sessions listed then, which did not include
  // this one: it catches up here.
  const auto& entry = server ? connector_.client_side : connector_.upstream_side;
  const auto& snapshot = server ? client_ctx_ : upstream_ctx_;
  if (!entry || entry->get() == snapshot || !revalidates(connector_, side)) return true;
  const auto& scope = entry->get()->policy.scope;
  return recheck(side, fmt::format("ssl.policy.{} ({}) was reloaded during its handshake", scope,
                                   side_name(side)));
}

// True when the peer on `side` still passes (or is not checked on that side).
bool Session::recheck(tls::Side side, std::string_view trigger, RevalidationClose kind) {
  bool server = side == tls::Side::kServer;
  if (!(server ? client_checked_ : upstream_checked_)) return true;
  const auto& entry = server ? connector_.client_side : connector_.upstream_side;
  if (!entry) return true;
  auto ctx = entry->get();
  if (!ctx->policy.revalidate_established) return true;
  auto peer = server ? tls::connected_peer(client_.ssl(), peer_)
                     : tls::connected_peer(upstream_->ssl(),
                                           config::to_string(connector_.settings.upstream_address),
                                           connector_.settings.upstream_server_name);
  auto checked = tls::recheck_peer(peer, *ctx, std::chrono::system_clock::now(),
                                   server ? client_ctx_.get() : upstream_ctx_.get());
  if (checked) {
    // The backend was told the identity the session began with (PROXY v2,
    // user_map): when the policy now admits the certificate under another
    // of its names, the session ends (review s23, security finding 7).
    if (server && checked->identity != identity_.identity) {
      close_revalidated(kind, fmt::format("after {}: its identity would now be \"{}\", not \"{}\"",
                                          trigger, checked->identity, identity_.identity));
      return false;
    }
    watch_revocation(side, *ctx);
    return true;
  }
  // A reload that brought a CRL listing the peer closes it as revoked.
  const auto& message = checked.error().message();
  if (kind == RevalidationClose::kPolicyChanged &&
      message.find("certificate revoked") != std::string::npos) {
    kind = RevalidationClose::kRevoked;
  }
  close_revalidated(kind, fmt::format("after {}: {}", trigger, message));
  return false;
}

void Session::revalidate(const Revalidation& what) {
  if (closed_) return;
  auto self = shared_from_this();  // closing must not end it under our feet
  using Kind = Revalidation::Kind;
  switch (what.kind) {
    case Kind::kContext:
      recheck(what.side, what.trigger);
      return;
    case Kind::kExpiry:
      if (recheck(tls::Side::kServer, what.trigger, RevalidationClose::kExpired)) {
        recheck(tls::Side::kClient, what.trigger, RevalidationClose::kExpired);
      }
      return;
    case Kind::kUserMap: {
      if (!db_user_ || !connector_.user_map || !revalidates(connector_, tls::Side::kServer)) return;
      auto map = connector_.user_map->get();
      auto refusal = map->refusal(identity_.identity, *db_user_);
      if (mysql_relay_) {
        for (const auto& user : mysql_relay_->earlier_users) {
          if (refusal.empty()) refusal = map->refusal(identity_.identity, user);
        }
      }
      if (refusal.empty()) return;
      close_revalidated(RevalidationClose::kUserMapChanged,
                        fmt::format("after {}: {} (connector.{}.user_map)", what.trigger, refusal,
                                    connector_.settings.name));
      return;
    }
    case Kind::kPeer: {
      bool server = what.side == tls::Side::kServer;
      if (!(server ? client_checked_ : upstream_checked_) || what.match == nullptr) return;
      const X509* leaf = SSL_get0_peer_certificate(server ? client_.ssl() : upstream_->ssl());
      if (leaf != nullptr && (*what.match)(*leaf)) {
        close_revalidated(RevalidationClose::kRevoked,
                          fmt::format("after a revocation check: {}", what.trigger));
      }
      return;
    }
  }
}

// One line each, not rate-limited like handshake failures: closings follow
// the operator's changes (or a revocation), not what a peer sends.
void Session::close_revalidated(RevalidationClose kind, const std::string& why) {
  connector_.stats.revalidation_closed.fetch_add(1, std::memory_order_relaxed);
  counters_->revalidation(kind);
  log_text(spdlog::level::info, "closed by re-validation " + why, closing_note());
  finish("closed by re-validation");
}

}  // namespace tlsgate::net
