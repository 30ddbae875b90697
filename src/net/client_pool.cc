#include "net/client_pool.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <vector>

#include <openssl/err.h>

#include <fmt/format.h>

#include "net/dial.h"
#include "net/stream.h"
#include "pki/openssl_error.h"
#include "tls/handshake_error.h"
#include "tls/server_name.h"

namespace tlsgate::net {

using SteadyClock = std::chrono::steady_clock;

struct PoolLink {
  enum class State {
    kHealthy,  // may be pooled again
    kSpent,    // EOF, timeout or unread bytes: close politely, never reuse
    kBroken,   // socket or TLS error: no close_notify after a fatal error
  };
  explicit PoolLink(util::Fd s) : socket(std::move(s)), stream(socket.get()) {}

  util::Fd socket;  // before the stream, which works on it
  Stream stream;
  std::shared_ptr<const tls::Context> ctx;  // the snapshot it was made with
  tls::PeerIdentity peer;
  SteadyClock::time_point idle_since;
  State state = State::kHealthy;
};

using Links = std::vector<std::unique_ptr<PoolLink>>;

struct PoolCore {
  ClientPoolOptions options;  // server_name filled in
  std::string backend;        // "host:port", for messages
  std::string scope;
  tls::ContextRegistry::Entry entry;
  mutable util::Mutex mu;
  std::deque<std::unique_ptr<PoolLink>> idle GUARDED_BY(mu);  // most recently returned last
  size_t open GUARDED_BY(mu) = 0;
  uint64_t dialed GUARDED_BY(mu) = 0;
  uint64_t closed_stale GUARDED_BY(mu) = 0;
  bool shut GUARDED_BY(mu) = false;  // the ClientPool is gone

  bool is_current(const PoolLink& link) const { return link.ctx == entry->get(); }

  // Takes the idle links made with an older context or idle too long out
  // of the pool; the caller closes them outside the lock.
  Links sweep_idle() REQUIRES(mu) {
    Links out;
    auto now = SteadyClock::now();
    auto max_age = std::chrono::duration_cast<SteadyClock::duration>(options.idle_timeout);
    for (auto it = idle.begin(); it != idle.end();) {
      bool stale = !is_current(**it);
      if (stale || (max_age.count() > 0 && now - (*it)->idle_since > max_age)) {
        if (stale) ++closed_stale;
        out.push_back(std::move(*it));
        it = idle.erase(it);
      } else {
        ++it;
      }
    }
    open -= out.size();
    return out;
  }
};

namespace {

constexpr const char* kEmptyLease =
    "this PooledConnection is empty (released, discarded or moved from); lease() a new one";

// A pooled link is reusable only if the backend has said nothing since: a
// close_notify, a reset, or bytes nobody read (a reply the last user left)
// would each put the next user out of step. Processes TLS 1.3 tickets on the way.
void check_quiet(PoolLink& link) {
  ERR_clear_error();
  char byte = 0;
  size_t n = 0;
  int rc = SSL_peek_ex(link.stream.ssl(), &byte, 1, &n);
  int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(link.stream.ssl(), rc);
  pki::clear_openssl_errors();
  if (rc == 1 || err == SSL_ERROR_ZERO_RETURN) {
    link.state = PoolLink::State::kSpent;
  } else if (err != SSL_ERROR_WANT_READ) {
    link.state = PoolLink::State::kBroken;
  }
}

// A read or write failed: the link is not used again. The TLS alert the
// backend sent, if any, says why; else `what` it did.
util::Error broken(PoolLink& link, const PoolCore& core, std::string_view what) {
  link.state = PoolLink::State::kBroken;
  if (ERR_peek_error() != 0) {
    return util::Error(tls::explain_handshake_failure(link.stream.ssl(), *link.ctx, core.backend));
  }
  return util::Error(fmt::format("backend {} (ssl.policy.{}) {}; lease() a new one", core.backend,
                                 core.scope, what));
}

void close_links(Links links) {
  for (auto& link : links) {
    if (link->state != PoolLink::State::kBroken) link->stream.shutdown_write();
    link->stream.detach();
    link->socket.reset();
  }
  pki::clear_openssl_errors();
}

util::Result<std::unique_ptr<PoolLink>> handshake(PoolCore& core, util::Fd socket,
                                                  std::shared_ptr<const tls::Context> ctx) {
  auto link = std::make_unique<PoolLink>(std::move(socket));
  link->ctx = std::move(ctx);
  const auto& policy = link->ctx->policy;
  // SSL_new and BIO_new fail only when memory runs out.
  auto no_memory = [&](const char* call) {
    return util::fail(pki::openssl_error(fmt::format(
        "backend {} (ssl.policy.{}): out of memory setting up TLS ({}); free memory or lower the "
        "pool's load, then lease again",
        core.backend, policy.scope, call)));
  };
  pki::clear_openssl_errors();
  tls::SslPtr ssl(SSL_new(link->ctx->ssl_ctx.get()));
  if (!ssl) return no_memory("SSL_new");
  SSL_set_connect_state(ssl.get());
  if (!tls::set_expected_name(ssl.get(), core.options.server_name, policy.verify_hostname)) {
    return util::fail(fmt::format(
        "backend {}: OpenSSL refused \"{}\" as the name to check; set Options::server_name to the "
        "DNS name or IP address on its certificate",
        core.backend, core.options.server_name));
  }
  if (!link->stream.attach_tls(std::move(ssl))) return no_memory("BIO_new");
  // The policy's own value, as reloaded, unless the pool's options override it.
  auto timeout = core.options.handshake_timeout.value_or(policy.handshake_timeout);
  auto deadline = deadline_after(timeout);
  while (true) {  // bounded by the deadline
    auto r = link->stream.handshake();
    if (r.status == Io::kOk) break;
    if (r.status != Io::kWantRead && r.status != Io::kWantWrite) {
      return util::fail(
          tls::explain_handshake_failure(link->stream.ssl(), *link->ctx, core.backend));
    }
    if (!wait_ready(link->stream.fd(), r.status, deadline)) {
      return util::fail(fmt::format(
          "TLS handshake with backend {} did not finish within {:g} s (ssl.policy.{}.handshake_"
          "timeout); check that it speaks TLS on that port",
          core.backend, timeout.count(), policy.scope));
    }
  }
  auto checked = tls::check_peer(link->stream.ssl(), *link->ctx);
  if (!checked) return util::fail("backend " + core.backend + ": " + checked.error().message());
  link->peer = std::move(*checked);
  return link;
}

util::Result<std::unique_ptr<PoolLink>> dial_link(PoolCore& core) {
  // The snapshot is taken before connecting, so a link is never newer than
  // its context: a reload during the dial makes it stale, never wrongly current.
  auto ctx = core.entry->get();
  const auto& opt = core.options;
  auto socket = net::dial(opt.endpoint, deadline_after(opt.connect_timeout));
  if (socket) return handshake(core, std::move(*socket), std::move(ctx));
  const DialError& e = socket.error();
  if (e.resolving) {
    return util::fail(fmt::format("cannot resolve backend {} (ssl.policy.{}): {}; check the name",
                                  core.backend, core.scope, e.reason));
  }
  std::string why = e.timed_out ? fmt::format("no answer within {:g} s (connect_timeout)",
                                              opt.connect_timeout.count())
                                : e.reason;
  return util::fail(
      fmt::format("cannot connect to backend {} (ssl.policy.{}): {}; check that it "
                  "is up and listens on that address",
                  core.backend, core.scope, why));
}

}  // namespace

// ---- PooledConnection

PooledConnection::PooledConnection() = default;
PooledConnection::PooledConnection(std::shared_ptr<PoolCore> core, std::unique_ptr<PoolLink> link)
    : core_(std::move(core)), link_(std::move(link)) {}
PooledConnection::PooledConnection(PooledConnection&& other) noexcept = default;
PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    release();
    core_ = std::move(other.core_);
    link_ = std::move(other.link_);
  }
  return *this;
}
PooledConnection::~PooledConnection() { release(); }

void PooledConnection::release() { give_back(true); }
void PooledConnection::discard() { give_back(false); }

void PooledConnection::give_back(bool keep) {
  if (!link_) return;
  auto core = std::move(core_);
  auto link = std::move(link_);
  if (keep && link->state == PoolLink::State::kHealthy) check_quiet(*link);
  Links doomed;
  {
    util::MutexLock lock(core->mu);
    bool healthy = keep && link->state == PoolLink::State::kHealthy;
    bool current = core->is_current(*link);
    if (healthy && current && !core->shut && core->idle.size() < core->options.max_idle) {
      link->idle_since = SteadyClock::now();
      core->idle.push_back(std::move(link));
      return;
    }
    if (healthy && !current) ++core->closed_stale;
    --core->open;
    doomed.push_back(std::move(link));
  }
  close_links(std::move(doomed));
}

util::Status PooledConnection::write_all(std::string_view data,
                                         std::optional<config::Seconds> timeout) {
  if (!link_) return util::fail(kEmptyLease);
  auto& link = *link_;
  auto limit = timeout.value_or(core_->options.io_timeout);
  auto deadline = deadline_after(limit);
  size_t done = 0;
  while (done < data.size()) {  // bounded by the deadline: each pass writes or waits
    auto r = link.stream.write(data.data() + done, data.size() - done);
    if (r.status == Io::kOk) {
      done += r.bytes;
    } else if (r.status != Io::kWantRead && r.status != Io::kWantWrite) {
      return util::fail(broken(link, *core_, "closed the connection while we wrote"));
    } else if (!wait_ready(link.stream.fd(), r.status, deadline)) {
      link.state = PoolLink::State::kSpent;
      return util::fail(
          fmt::format("backend {} (ssl.policy.{}) took no data for {:g} s; the "
                      "connection will not be reused",
                      core_->backend, core_->scope, limit.count()));
    }
  }
  return {};
}

util::Result<size_t> PooledConnection::read_some(std::span<char> buffer,
                                                 std::optional<config::Seconds> timeout) {
  if (!link_) return util::fail(kEmptyLease);
  if (buffer.empty()) return util::fail("read_some() needs a buffer of at least one byte");
  auto& link = *link_;
  auto limit = timeout.value_or(core_->options.io_timeout);
  auto deadline = deadline_after(limit);
  while (true) {  // bounded by the deadline: each pass reads or waits
    auto r = link.stream.read(buffer.data(), buffer.size());
    if (r.status == Io::kOk) return r.bytes;
    if (r.status == Io::kEof) {
      link.state = PoolLink::State::kSpent;
      return size_t{0};
    }
    if (r.status != Io::kWantRead && r.status != Io::kWantWrite) {
      // A backend that refuses our certificate after a TLS 1.3 handshake says so here.
      return util::fail(broken(link, *core_, "reset the connection"));
    }
    if (!wait_ready(link.stream.fd(), r.status, deadline)) {
      link.state = PoolLink::State::kSpent;
      return util::fail(
          fmt::format("no reply from backend {} (ssl.policy.{}) within {:g} s; the "
                      "connection will not be reused",
                      core_->backend, core_->scope, limit.count()));
    }
  }
}

const tls::Context& PooledConnection::context() const { return *link_->ctx; }
const tls::PeerIdentity& PooledConnection::peer() const { return link_->peer; }
const SSL* PooledConnection::ssl() const { return link_->stream.ssl(); }

// ---- ClientPool

ClientPool::ClientPool(std::shared_ptr<PoolCore> core) : core_(std::move(core)) {}

util::Result<ClientPool> ClientPool::create(tls::ContextRegistry& registry,
                                            const config::Policy& policy, Options options) {
  if (options.endpoint.host.empty() || options.endpoint.port == 0) {
    return util::fail("ClientPool for ssl.policy." + policy.scope +
                      ": no endpoint; set Options::endpoint to the backend's host and port");
  }
  auto entry = registry.acquire(policy, tls::Side::kClient);
  if (!entry) return util::fail(entry.error());
  auto core = std::make_shared<PoolCore>();
  core->backend = config::to_string(options.endpoint);
  core->scope = policy.scope;
  core->entry = std::move(*entry);
  if (options.server_name.empty()) options.server_name = options.endpoint.host;
  core->options = std::move(options);
  ClientPool pool(core);
  pool.subscription_ = registry.subscribe(
      [weak = std::weak_ptr<PoolCore>(core), scope = policy.scope](const tls::ReloadReport& r) {
        if (r.scope != scope || r.side != tls::Side::kClient) return;
        auto alive = weak.lock();
        if (!alive) return;
        Links doomed;
        {
          util::MutexLock lock(alive->mu);
          doomed = alive->sweep_idle();
        }
        close_links(std::move(doomed));
      });
  return pool;
}

ClientPool& ClientPool::operator=(ClientPool&& other) noexcept {
  if (this != &other) {
    shut_down();
    core_ = std::move(other.core_);
    subscription_ = std::move(other.subscription_);
  }
  return *this;
}

ClientPool::~ClientPool() { shut_down(); }

void ClientPool::shut_down() {
  subscription_.reset();
  if (!core_) return;
  Links doomed;
  {
    util::MutexLock lock(core_->mu);
    core_->shut = true;
    for (auto& link : core_->idle) doomed.push_back(std::move(link));
    core_->idle.clear();
    core_->open -= doomed.size();
  }
  close_links(std::move(doomed));
  core_.reset();
}

util::Result<PooledConnection> ClientPool::lease() {
  if (!core_) return util::fail("lease() on a ClientPool that was moved from");
  auto& core = *core_;
  // Each pass takes one link out of the pool, which holds at most max_idle.
  for (size_t pass = 0; pass <= core.options.max_idle; ++pass) {
    Links doomed;
    std::unique_ptr<PoolLink> link;
    {
      util::MutexLock lock(core.mu);
      doomed = core.sweep_idle();
      if (!core.idle.empty()) {
        link = std::move(core.idle.back());
        core.idle.pop_back();
      }
    }
    close_links(std::move(doomed));
    if (!link) break;
    check_quiet(*link);
    if (link->state == PoolLink::State::kHealthy) return PooledConnection(core_, std::move(link));
    PooledConnection(core_, std::move(link)).discard();
  }
  auto link = dial_link(core);
  if (!link) return util::fail(link.error());
  {
    util::MutexLock lock(core.mu);
    ++core.open;
    ++core.dialed;
  }
  return PooledConnection(core_, std::move(*link));
}

ClientPoolStats ClientPool::stats() const {
  if (!core_) return {};
  util::MutexLock lock(core_->mu);
  return {core_->idle.size(), core_->open, core_->dialed, core_->closed_stale};
}

}  // namespace tlsgate::net
