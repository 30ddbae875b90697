#include "net/session_table.h"

#include <vector>

namespace tlsgate::net {

namespace {
// OpenSSL compares whole seconds and calls a certificate expired only after
// its notAfter second: the check waits for the second after it.
constexpr auto kAfterNotAfter = std::chrono::seconds(1);
}  // namespace

bool revalidates(const ConnectorRuntime& c, tls::Side side) {
  const auto& entry = side == tls::Side::kServer ? c.client_side : c.upstream_side;
  return entry && entry->get()->policy.revalidate_established;
}

void TrackedSession::untrack() {
  if (table_ != nullptr) table_->remove(*this);
}

SessionTable::SessionTable(boost::asio::io_context& loop) : timer_(loop) {}

SessionTable::~SessionTable() {
  for (auto& [connector, bucket] : buckets_) {
    for (TrackedSession* s = bucket.head; s != nullptr;) {
      TrackedSession* next = s->next_;
      s->table_ = nullptr;
      s->prev_ = s->next_ = nullptr;
      s->expiry_.reset();
      s = next;
    }
  }
}

void SessionTable::add(TrackedSession& s, const ConnectorRuntime& c,
                       std::optional<util::SystemTime> expiry) {
  if (s.table_ == nullptr) {
    Bucket& bucket = buckets_[&c];
    s.table_ = this;
    s.connector_ = &c;
    s.prev_ = nullptr;
    s.next_ = bucket.head;
    if (bucket.head != nullptr) bucket.head->prev_ = &s;
    bucket.head = &s;
    ++size_;
  }
  if (!expiry || (s.expiry_ && (*s.expiry_)->first <= *expiry)) return;
  if (s.expiry_) expiries_.erase(*s.expiry_);
  s.expiry_ = expiries_.emplace(*expiry, &s);
  if (!armed_for_ || *expiry < *armed_for_) arm();
}

void SessionTable::remove(TrackedSession& s) {
  if (s.table_ != this) return;
  if (s.prev_ != nullptr) {
    s.prev_->next_ = s.next_;
  } else {
    buckets_[s.connector_].head = s.next_;
  }
  if (s.next_ != nullptr) s.next_->prev_ = s.prev_;
  if (s.expiry_) expiries_.erase(*s.expiry_);
  s.expiry_.reset();
  s.table_ = nullptr;
  s.prev_ = s.next_ = nullptr;
  --size_;
  // The timer may stay armed for an entry gone: it finds nothing due and re-arms.
}

bool SessionTable::uses(const ConnectorRuntime& c, const std::string& scope, tls::Side side) {
  if (side == tls::Side::kServer) return c.client_side && c.settings.ssl_policy == scope;
  return c.upstream_side && c.settings.upstream_ssl_policy == scope;
}

// A session may leave the list while it is checked (it closed): the next one
// is taken before.
void SessionTable::walk(const ConnectorRuntime& c, const Revalidation& what) {
  auto it = buckets_.find(&c);
  if (it == buckets_.end()) return;
  for (TrackedSession* s = it->second.head; s != nullptr;) {
    TrackedSession* next = s->next_;
    s->revalidate(what);
    s = next;
  }
}

void SessionTable::revalidate_policy(const std::string& scope, tls::Side side,
                                     std::string_view trigger) {
  for (auto& [c, bucket] : buckets_) {
    if (bucket.head == nullptr || !uses(*c, scope, side) || !revalidates(*c, side)) continue;
    walk(*c, Revalidation{.kind = Revalidation::Kind::kContext, .side = side, .trigger = trigger});
  }
}

void SessionTable::revalidate_connector(const ConnectorRuntime& c, const Revalidation& what) {
  walk(c, what);
}

void SessionTable::close_peers(const std::string& scope, tls::Side side, const PeerMatch& match,
                               std::string_view reason) {
  for (auto& [c, bucket] : buckets_) {
    if (bucket.head == nullptr || !uses(*c, scope, side) || !revalidates(*c, side)) continue;
    walk(*c,
         Revalidation{
             .kind = Revalidation::Kind::kPeer, .side = side, .trigger = reason, .match = &match});
  }
}

std::optional<util::SystemTime> SessionTable::next_expiry() const {
  if (expiries_.empty()) return std::nullopt;
  return expiries_.begin()->first;
}

void SessionTable::arm() {
  if (expiries_.empty()) {
    armed_for_.reset();
    timer_.cancel();
    return;
  }
  armed_for_ = expiries_.begin()->first;
  timer_.expires_at(std::chrono::time_point_cast<boost::asio::system_timer::duration>(
      *armed_for_ + kAfterNotAfter));
  // The table outlives every wait it arms, or cancels it (its destructor
  // does), and a cancelled wait touches nothing.
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

void SessionTable::on_timer() {
  armed_for_.reset();
  auto now = std::chrono::system_clock::now();
  // Sessions due are taken off the map first: checking one may close it.
  std::vector<TrackedSession*> due;
  while (!expiries_.empty() && expiries_.begin()->first + kAfterNotAfter <= now) {
    TrackedSession* s = expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    s->expiry_.reset();
    due.push_back(s);
  }
  for (TrackedSession* s : due) {
    // A check closes only its own session, and a closed session lives on
    // until its cancelled handlers ran: each one due is still here.
    if (s->table_ == this) {
      s->revalidate(
          Revalidation{.kind = Revalidation::Kind::kExpiry, .trigger = "its certificate expired"});
    }
  }
  arm();
}

}  // namespace tlsgate::net
