#include "net/ocsp_engine.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/http_client.h"
#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/loader.h"
#include "pki/ocsp.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace asio = boost::asio;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

constexpr auto kRefreshAtLeast = hours(1);
constexpr auto kRefreshAtMost = minutes(5);  // how often, when nextUpdate allows it
constexpr auto kRetryFirst = seconds(5);
constexpr auto kRetryLast = minutes(5);
constexpr auto kPeerAnswerWithoutNextUpdate = hours(1);
constexpr auto kPeerFailureKept = seconds(30);  // a responder that failed is not asked per peer

using Duration = std::chrono::steady_clock::duration;

// When to fetch again after a good answer (see the header).
Duration refresh_after(const pki::OcspAnswer& a, util::SystemTime now) {
  if (!a.next_update) return kRefreshAtLeast;
  auto left = *a.next_update - now;
  auto d = std::clamp<Duration>(left / 2, kRefreshAtMost, kRefreshAtLeast);
  if (d >= left) d = std::max<Duration>(left / 2, seconds(1));
  return d;
}

Duration retry_after(int failures) {
  auto d = kRetryFirst * (1 << std::min(failures - 1, 10));
  return std::min<Duration>(d, kRetryLast);
}

std::string describe(const X509* cert) {
  return pki::subject_of(cert) + " (serial " + pki::serial_to_hex(cert) + ")";
}

}  // namespace

std::string ocsp_responder_for(const X509* cert, const std::string& override_url) {
  if (!override_url.empty()) return override_url;
  auto urls = pki::ocsp_urls(cert);
  return urls.empty() ? std::string() : urls.front();
}

struct OcspEngine::Impl {
  struct StapleJob {
    explicit StapleJob(asio::io_context& io) : timer(io) {}
    std::string scope;
    std::string leaf_id;  // fingerprint, the StapleStore's key
    pki::X509Ptr leaf, issuer;
    std::string url;
    std::string request;  // DER OCSPRequest
    std::optional<pki::OcspAnswer> answer;
    int failures = 0;
    bool first_pending = false;  // wait_first() waits for it
    asio::steady_timer timer;
    HttpExchange exchange;
  };
  struct PeerEntry {
    PeerStatus status;
    std::chrono::steady_clock::time_point expires;
    std::chrono::steady_clock::time_point refresh;  // when a watch asks again
  };
  struct PendingPeer {
    std::vector<std::function<void(PeerStatus)>> waiters;
    pki::X509Ptr leaf, issuer;
    HttpExchange exchange;
  };
  // A peer certificate that connections hold (PeerHold): asked about again
  // when its answer is due.
  struct Watch {
    explicit Watch(asio::io_context& io) : timer(io) {}
    pki::X509Ptr leaf, issuer;
    std::string url;
    int failures = 0;
    asio::steady_timer timer;
  };

  Impl(Options o, const util::Clock& c, std::shared_ptr<tls::StapleStore> s, OcspCounters& n,
       std::shared_ptr<PeerHold::Counts> h)
      : options(std::move(o)), clock(c), staples(std::move(s)), counters(n), held(std::move(h)) {
    thread = std::thread([this] { io.run(); });
  }
  ~Impl() {
    work.reset();
    // Exchanges and timers are cancelled on the engine's own thread.
    asio::post(io, [this] {
      jobs.clear();
      pending.clear();
      watches.clear();
      io.stop();
    });
    if (thread.joinable()) thread.join();
  }

  // ---- stapling (engine thread) ----
  void track(const std::string& scope, std::shared_ptr<const tls::Context> ctx);
  void start_job(StapleJob& job);
  void fetch(StapleJob& job);
  void on_answer(StapleJob& job, util::Result<HttpResponse> response);
  void accept_answer(StapleJob& job, pki::OcspAnswer answer, bool from_cache);
  void fail(StapleJob& job, const std::string& why);
  void schedule(StapleJob& job, Duration after);
  void expire_if_stale(StapleJob& job);
  void first_done(StapleJob& job);
  void publish_state(const StapleJob& job, const std::string& error);
  std::filesystem::path cache_file(const StapleJob& job) const {
    return options.state_dir / "ocsp" / pki::ocsp_cache_file_name(job.leaf.get());
  }

  // ---- peers (engine thread) ----
  void check(PeerQuery q, std::function<void(PeerStatus)> done);
  // Asks url about leaf; the answer goes to pending[id]'s waiters.
  void fetch_peer(const std::string& id, pki::X509Ptr leaf, pki::X509Ptr issuer,
                  const std::string& url, const util::HttpUrl& parsed, std::string request);
  void finish_peer(const std::string& id, PeerStatus status, Duration keep, Duration refresh,
                   std::function<void(PeerStatus)> first = nullptr);
  Duration keep_for(const pki::OcspAnswer& a) const;
  void watch(const std::string& id, const PeerQuery& q, const std::string& url);
  void arm(const std::string& id, Watch& w, std::chrono::steady_clock::time_point at);
  void revisit(const std::string& id);
  bool held_now(const std::string& id) const;
  PeerStatus status_of(const pki::OcspAnswer& a, const X509* leaf, const std::string& from) const;

  Options options;
  const util::Clock& clock;
  std::shared_ptr<tls::StapleStore> staples;
  OcspCounters& counters;
  std::shared_ptr<PeerHold::Counts> held;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;

  std::map<std::string, std::unique_ptr<StapleJob>> jobs;  // by scope
  std::map<std::string, PeerEntry> peer_cache;             // by leaf fingerprint
  std::map<std::string, PendingPeer> pending;              // by leaf fingerprint
  std::map<std::string, std::unique_ptr<Watch>> watches;   // by leaf fingerprint

  mutable util::Mutex mu;
  std::map<std::string, StapleState> states GUARDED_BY(mu);
  std::mutex first_mu;
  std::condition_variable first_cv;
  int first_waiting = 0;  // under first_mu
};

void OcspEngine::Impl::track(const std::string& scope, std::shared_ptr<const tls::Context> ctx) {
  const X509* leaf = ctx->stapling ? SSL_CTX_get0_certificate(ctx->ssl_ctx.get()) : nullptr;
  auto old = jobs.find(scope);
  std::string leaf_id = leaf != nullptr ? pki::fingerprint_sha256(leaf) : "";
  std::string url = leaf != nullptr ? ocsp_responder_for(leaf, ctx->policy.ocsp_responder) : "";
  if (old != jobs.end()) {
    if (old->second->leaf_id == leaf_id && old->second->url == url) return;  // same staple
    bool shared = std::any_of(jobs.begin(), jobs.end(), [&](const auto& j) {
      return j.first != scope && j.second->leaf_id == old->second->leaf_id;
    });
    if (!shared) staples->erase(old->second->leaf_id);
    first_done(*old->second);
    jobs.erase(old);
  }
  if (leaf == nullptr) {
    util::MutexLock lock(mu);
    states.erase(scope);
    return;
  }
  auto job = std::make_unique<StapleJob>(io);
  job->scope = scope;
  job->leaf_id = leaf_id;
  job->leaf = pki::up_ref(leaf);
  job->url = url;
  // The issuer: the certificate file's chain first, then the trusted CAs.
  std::vector<pki::X509Ptr> candidates;
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx->ssl_ctx.get(), &chain);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i)
    candidates.push_back(pki::up_ref(sk_X509_value(chain, i)));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx->ssl_ctx.get());
  STACK_OF(X509_OBJECT)* objects = store != nullptr ? X509_STORE_get0_objects(store) : nullptr;
  for (int i = 0; objects != nullptr && i < sk_X509_OBJECT_num(objects); ++i) {
    if (X509* c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)))
      candidates.push_back(pki::up_ref(c));
  }
  // Under client_auth=NONE the context loaded no trusted CAs: read them.
  if (objects == nullptr || sk_X509_OBJECT_num(objects) == 0) {
    if (auto trusted = pki::load_certificates_dir(ctx->policy.trusted_dir)) {
      for (auto& c : *trusted) candidates.push_back(std::move(c));
    }
  }
  if (const X509* issuer = pki::find_issuer(leaf, candidates)) job->issuer = pki::up_ref(issuer);
  auto& j = *jobs.emplace(scope, std::move(job)).first->second;
  start_job(j);
}

void OcspEngine::Impl::start_job(StapleJob& job) {
  const std::string key = "ssl.policy." + job.scope + ".ocsp_stapling";
  if (job.url.empty()) {
    return fail(job, fmt::format("{}: certificate {} names no OCSP responder (no AIA OCSP URL); "
                                 "set ssl.policy.{}.ocsp_responder, or turn stapling off",
                                 key, describe(job.leaf.get()), job.scope));
  }
  if (!job.issuer) {
    return fail(job, fmt::format("{}: the issuer of {} is neither in the certificate file's chain "
                                 "nor in trusted_dir; append the issuing CA's certificate to the "
                                 "certificate file",
                                 key, describe(job.leaf.get())));
  }
  auto request = pki::ocsp_request_der(job.leaf.get(), job.issuer.get());
  if (!request) return fail(job, key + ": " + request.error().message());
  job.request = std::move(*request);
  // A cached response that still verifies is stapled at once.
  if (auto cached = util::read_file(cache_file(job))) {
    auto answer = pki::verify_ocsp_response(*cached, job.leaf.get(), job.issuer.get(), clock.now());
    if (answer) {
      accept_answer(job, std::move(*answer), true);
      return;
    }
    spdlog::info("ssl.policy.{}: cached OCSP response {} not used: {}", job.scope,
                 cache_file(job).string(), answer.error().message());
  }
  {
    std::lock_guard lock(first_mu);
    job.first_pending = true;
    ++first_waiting;
  }
  fetch(job);
}

void OcspEngine::Impl::fetch(StapleJob& job) {
  auto url = util::parse_http_url(job.url);
  if (!url) {
    return fail(job, fmt::format("ssl.policy.{}: OCSP responder {}: {}", job.scope, job.url,
                                 url.error().message()));
  }
  counters.fetches.fetch_add(1, std::memory_order_relaxed);
  HttpLimits limits;
  limits.deadline = options.fetch_deadline;
  limits.max_body = pki::kMaxOcspResponseSize;
  job.exchange =
      http_post(io, *url, "application/ocsp-request", job.request, limits,
                [this, &job](util::Result<HttpResponse> r) { on_answer(job, std::move(r)); });
}

void OcspEngine::Impl::on_answer(StapleJob& job, util::Result<HttpResponse> response) {
  if (!response) return fail(job, response.error().message());
  auto answer =
      pki::verify_ocsp_response(response->body, job.leaf.get(), job.issuer.get(), clock.now());
  if (!answer) {
    return fail(job,
                fmt::format("response from {} refused: {}", job.url, answer.error().message()));
  }
  accept_answer(job, std::move(*answer), false);
}

void OcspEngine::Impl::accept_answer(StapleJob& job, pki::OcspAnswer answer, bool from_cache) {
  job.failures = 0;
  staples->set(job.leaf_id, std::make_shared<const std::string>(answer.der));
  if (!from_cache) {
    std::error_code ec;
    const auto folder = cache_file(job).parent_path();
    if (!std::filesystem::is_directory(folder, ec)) {
      std::filesystem::create_directories(folder, ec);
      ::chmod(options.state_dir.c_str(), 0700);
      ::chmod(folder.c_str(), 0700);
    }
    if (auto st = util::write_file_atomic(cache_file(job), answer.der, 0600); !st) {
      spdlog::warn(
          "ssl.policy.{}: cannot cache the OCSP response: {}; a restart will staple "
          "only once the responder answers",
          job.scope, st.error().message());
    }
  }
  const bool changed = !job.answer || job.answer->status != answer.status;
  if (answer.status == pki::OcspAnswer::Status::kRevoked) {
    counters.own_revoked.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "ssl.policy.{}: OCSP responder {} says certificate {} was REVOKED at {} ({}); "
        "stapling that answer; replace the certificate",
        job.scope, job.url, describe(job.leaf.get()),
        answer.revoked_at ? pki::format_time(*answer.revoked_at) : "an unknown time",
        pki::revocation_reason_name(answer.reason));
  } else if (changed) {
    spdlog::info("ssl.policy.{}: stapling OCSP status {} for {}{}, next update {}", job.scope,
                 pki::status_name(answer.status), describe(job.leaf.get()),
                 from_cache ? " (cached)" : "",
                 answer.next_update ? pki::format_time(*answer.next_update) : "not given");
  }
  const auto now = clock.now();
  job.answer = std::move(answer);
  publish_state(job, "");
  first_done(job);
  schedule(job, refresh_after(*job.answer, now));
}

void OcspEngine::Impl::fail(StapleJob& job, const std::string& why) {
  counters.fetch_failures.fetch_add(1, std::memory_order_relaxed);
  ++job.failures;
  spdlog::warn("ssl.policy.{}: OCSP stapling: {}{}", job.scope, why,
               job.answer ? "; still stapling the last good response" : "; serving unstapled");
  publish_state(job, why);
  first_done(job);
  expire_if_stale(job);
  // Without a URL, an issuer or a request nothing will change until a reload.
  if (!job.request.empty()) schedule(job, retry_after(job.failures));
}

// The last good response stays stapled until its nextUpdate, not after.
void OcspEngine::Impl::expire_if_stale(StapleJob& job) {
  if (job.answer && job.answer->next_update && *job.answer->next_update <= clock.now()) {
    spdlog::warn(
        "ssl.policy.{}: the OCSP response for {} passed its nextUpdate ({}); serving "
        "unstapled until the responder answers",
        job.scope, describe(job.leaf.get()), pki::format_time(*job.answer->next_update));
    staples->erase(job.leaf_id);
    job.answer.reset();
    publish_state(job, "the last response expired");
  }
}

void OcspEngine::Impl::schedule(StapleJob& job, Duration after) {
  // Never let a stapled response outlive its nextUpdate while waiting.
  if (job.answer && job.answer->next_update) {
    auto left = *job.answer->next_update - clock.now();
    if (left > Duration::zero()) after = std::min(after, Duration(left));
  }
  job.timer.expires_after(after);
  job.timer.async_wait([this, &job](const boost::system::error_code& ec) {
    if (ec) return;
    expire_if_stale(job);
    fetch(job);
  });
}

void OcspEngine::Impl::first_done(StapleJob& job) {
  if (!job.first_pending) return;
  job.first_pending = false;
  std::lock_guard lock(first_mu);
  --first_waiting;
  first_cv.notify_all();
}

void OcspEngine::Impl::publish_state(const StapleJob& job, const std::string& error) {
  StapleState s;
  s.scope = job.scope;
  s.subject = pki::subject_of(job.leaf.get());
  s.serial = pki::serial_to_hex(job.leaf.get());
  s.responder = job.url;
  if (job.answer) {
    s.status = pki::status_name(job.answer->status);
    s.this_update = job.answer->this_update;
    s.next_update = job.answer->next_update;
  }
  s.last_fetch = clock.now();
  s.last_error = error;
  util::MutexLock lock(mu);
  states[job.scope] = std::move(s);
}

// ---- peers ----

PeerStatus OcspEngine::Impl::status_of(const pki::OcspAnswer& a, const X509* leaf,
                                       const std::string& from) const {
  using S = pki::OcspAnswer::Status;
  PeerStatus s;
  switch (a.status) {
    case S::kGood:
      s.kind = PeerStatus::Kind::kGood;
      s.detail = fmt::format("OCSP ({}): {} is good", from, describe(leaf));
      break;
    case S::kRevoked:
      s.kind = PeerStatus::Kind::kRevoked;
      s.detail = fmt::format("OCSP ({}): {} was revoked at {} ({})", from, describe(leaf),
                             a.revoked_at ? pki::format_time(*a.revoked_at) : "an unknown time",
                             pki::revocation_reason_name(a.reason));
      break;
    case S::kUnknown:
      s.kind = PeerStatus::Kind::kUnknown;
      s.detail = fmt::format("OCSP ({}): the responder does not know {}", from, describe(leaf));
      break;
  }
  return s;
}

void OcspEngine::Impl::check(PeerQuery q, std::function<void(PeerStatus)> done) {
  const std::string id = pki::fingerprint_sha256(q.leaf.get());
  const std::string url = ocsp_responder_for(q.leaf.get(), q.responder);
  watch(id, q, url);
  const auto now = std::chrono::steady_clock::now();
  if (auto hit = peer_cache.find(id); hit != peer_cache.end()) {
    if (hit->second.expires > now) {
      counters.peer_cache_hits.fetch_add(1, std::memory_order_relaxed);
      return done(hit->second.status);
    }
    peer_cache.erase(hit);
  }
  if (!q.stapled.empty() && q.issuer) {
    auto a = pki::verify_ocsp_response(q.stapled, q.leaf.get(), q.issuer.get(), clock.now());
    if (a) {
      return finish_peer(id, status_of(*a, q.leaf.get(), "stapled"), keep_for(*a),
                         refresh_after(*a, clock.now()), std::move(done));
    }
    // A staple that does not verify is no answer: ask the responder.
  }
  if (auto p = pending.find(id); p != pending.end()) {
    p->second.waiters.push_back(std::move(done));
    return;
  }
  PeerStatus unavailable;
  if (url.empty()) {
    unavailable.detail = "certificate " + describe(q.leaf.get()) + " names no OCSP responder";
    return done(unavailable);
  }
  if (!q.issuer) {
    unavailable.detail = "the issuer of " + describe(q.leaf.get()) + " is not known";
    return done(unavailable);
  }
  if (pending.size() >= options.peer_fetches_in_flight) {
    unavailable.detail = fmt::format("{} OCSP checks already in flight", pending.size());
    // A watched peer is asked later: no fetch would arm its watch (a reload
    // that turns checks on asks about every established peer at once).
    if (auto w = watches.find(id); w != watches.end()) {
      arm(id, *w->second, now + retry_after(++w->second->failures));
    }
    return done(unavailable);
  }
  auto parsed = util::parse_http_url(url);
  auto request = pki::ocsp_request_der(q.leaf.get(), q.issuer.get());
  if (!parsed || !request) {
    unavailable.detail =
        fmt::format("OCSP responder {}: {}", url,
                    !parsed ? parsed.error().message() : request.error().message());
    return done(unavailable);
  }
  pending[id].waiters.push_back(std::move(done));
  fetch_peer(id, std::move(q.leaf), std::move(q.issuer), url, *parsed, std::move(*request));
}

void OcspEngine::Impl::fetch_peer(const std::string& id, pki::X509Ptr leaf, pki::X509Ptr issuer,
                                  const std::string& url, const util::HttpUrl& parsed,
                                  std::string request) {
  auto& p = pending[id];
  p.leaf = std::move(leaf);
  p.issuer = std::move(issuer);
  counters.fetches.fetch_add(1, std::memory_order_relaxed);
  HttpLimits limits;
  limits.deadline = options.fetch_deadline;
  limits.max_body = pki::kMaxOcspResponseSize;
  p.exchange = http_post(
      io, parsed, "application/ocsp-request", std::move(request), limits,
      [this, id, url](util::Result<HttpResponse> r) {
        const auto& fetched = pending.at(id);
        auto failed = [&](std::string why) {
          counters.fetch_failures.fetch_add(1, std::memory_order_relaxed);
          auto w = watches.find(id);
          int failures = w != watches.end() ? ++w->second->failures : 1;
          finish_peer(id, {PeerStatus::Kind::kUnavailable, std::move(why)}, kPeerFailureKept,
                      retry_after(failures));
        };
        if (!r) return failed(r.error().message());
        auto a = pki::verify_ocsp_response(r->body, fetched.leaf.get(), fetched.issuer.get(),
                                           clock.now());
        if (!a)
          return failed(fmt::format("OCSP response from {} refused: {}", url, a.error().message()));
        if (auto w = watches.find(id); w != watches.end()) w->second->failures = 0;
        finish_peer(id, status_of(*a, fetched.leaf.get(), url), keep_for(*a),
                    refresh_after(*a, clock.now()));
      });
}

// How long a peer's answer is kept: to its nextUpdate, at most an hour.
Duration OcspEngine::Impl::keep_for(const pki::OcspAnswer& a) const {
  Duration keep = kPeerAnswerWithoutNextUpdate;
  if (a.next_update) keep = std::min<Duration>(keep, *a.next_update - clock.now());
  return keep;
}

// Caches `status` for `keep`, answers `first` and everyone waiting for it,
// then reports a revocation; a watch of this peer asks again after
// `refresh`. Answers are posted to the sessions' loops before the closings
// are, so a session waiting for this very answer is refused in its own
// words rather than closed by re-validation.
void OcspEngine::Impl::finish_peer(const std::string& id, PeerStatus status, Duration keep,
                                   Duration refresh, std::function<void(PeerStatus)> first) {
  const auto now = std::chrono::steady_clock::now();
  if (keep > Duration::zero()) {
    if (peer_cache.size() >= options.peer_cache_entries) {
      std::erase_if(peer_cache, [&](const auto& e) { return e.second.expires <= now; });
      if (peer_cache.size() >= options.peer_cache_entries) peer_cache.erase(peer_cache.begin());
    }
    peer_cache[id] = {status, now + keep, now + refresh};
  }
  if (auto w = watches.find(id); w != watches.end()) arm(id, *w->second, now + refresh);
  std::vector<std::function<void(PeerStatus)>> waiters;
  if (first) waiters.push_back(std::move(first));
  if (auto p = pending.find(id); p != pending.end()) {
    for (auto& w : p->second.waiters) waiters.push_back(std::move(w));
    pending.erase(p);  // also ends the exchange, which is over
  }
  for (auto& w : waiters) w(status);
  if (status.kind == PeerStatus::Kind::kRevoked && options.on_peer_revoked) {
    options.on_peer_revoked(id, status.detail);
  }
}

bool OcspEngine::Impl::held_now(const std::string& id) const {
  util::MutexLock lock(held->mu);
  return held->by_id.contains(id);
}

// Starts watching a peer that a connection holds (check() made its hold),
// unless it has no responder to ask or the watch list is full.
void OcspEngine::Impl::watch(const std::string& id, const PeerQuery& q, const std::string& url) {
  if (watches.contains(id) || url.empty() || !q.issuer ||
      watches.size() >= options.peer_cache_entries) {
    return;
  }
  auto w = std::make_unique<Watch>(io);
  w->leaf = pki::up_ref(q.leaf.get());
  w->issuer = pki::up_ref(q.issuer.get());
  w->url = url;
  auto& watch = *watches.emplace(id, std::move(w)).first->second;
  // A cached answer sets when to ask again; otherwise the answer being fetched will.
  if (auto hit = peer_cache.find(id); hit != peer_cache.end()) arm(id, watch, hit->second.refresh);
}

void OcspEngine::Impl::arm(const std::string& id, Watch& w,
                           std::chrono::steady_clock::time_point at) {
  w.timer.expires_at(at);
  w.timer.async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) revisit(id);
  });
}

// A watched peer's answer is due: ask again while a connection holds it.
void OcspEngine::Impl::revisit(const std::string& id) {
  auto it = watches.find(id);
  if (it == watches.end()) return;
  if (!held_now(id)) {
    watches.erase(it);
    return;
  }
  if (pending.contains(id)) return;  // a check is asking now; its answer re-arms the watch
  Watch& w = *it->second;
  if (pending.size() >= options.peer_fetches_in_flight) {
    arm(id, w, std::chrono::steady_clock::now() + retry_after(++w.failures));
    return;
  }
  auto parsed = util::parse_http_url(w.url);
  auto request = pki::ocsp_request_der(w.leaf.get(), w.issuer.get());
  if (!parsed || !request) {  // did work when the watch began; cannot now
    watches.erase(it);
    return;
  }
  peer_cache.erase(id);
  spdlog::debug("OCSP: asking {} again about {}, which connections still use", w.url,
                describe(w.leaf.get()));
  fetch_peer(id, pki::up_ref(w.leaf.get()), pki::up_ref(w.issuer.get()), w.url, *parsed,
             std::move(*request));
}

// ---- OcspEngine ----

PeerHold::PeerHold(std::weak_ptr<Counts> held, std::string id)
    : held_(std::move(held)), id_(std::move(id)) {
  if (auto counts = held_.lock()) {
    util::MutexLock lock(counts->mu);
    ++counts->by_id[id_];
  }
}

void PeerHold::release() {
  auto counts = held_.lock();
  held_.reset();
  if (!counts) return;
  util::MutexLock lock(counts->mu);
  auto it = counts->by_id.find(id_);
  if (it != counts->by_id.end() && --it->second <= 0) counts->by_id.erase(it);
}

OcspEngine::OcspEngine(Options options, const util::Clock& clock)
    : staples_(std::make_shared<tls::StapleStore>()),
      impl_(std::make_unique<Impl>(std::move(options), clock, staples_, counters_, held_)) {}

OcspEngine::~OcspEngine() = default;

void OcspEngine::track(const std::string& scope,
                       std::shared_ptr<util::Versioned<tls::Context>> entry) {
  asio::post(impl_->io, [impl = impl_.get(), scope, entry] { impl->track(scope, entry->get()); });
}

void OcspEngine::wait_first(std::chrono::milliseconds limit) {
  // Lets the posted track() calls run first, so their first fetches are counted.
  auto tracked = std::make_shared<std::promise<void>>();
  asio::post(impl_->io, [tracked] { tracked->set_value(); });
  tracked->get_future().wait_for(limit);
  std::unique_lock lock(impl_->first_mu);
  impl_->first_cv.wait_for(lock, limit, [&] { return impl_->first_waiting <= 0; });
}

void OcspEngine::refresh_all() {
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->peer_cache.clear();
    for (auto& [scope, job] : impl->jobs) {
      if (!job->request.empty() && !job->exchange.active()) impl->fetch(*job);
    }
  });
}

PeerHold OcspEngine::check(PeerQuery query, std::function<void(PeerStatus)> done) {
  PeerHold hold(held_, pki::fingerprint_sha256(query.leaf.get()));
  asio::post(impl_->io,
             [impl = impl_.get(), q = std::make_shared<PeerQuery>(std::move(query)),
              done = std::move(done)]() mutable { impl->check(std::move(*q), std::move(done)); });
  return hold;
}

size_t OcspEngine::peers_held() const {
  util::MutexLock lock(held_->mu);
  return held_->by_id.size();
}

std::vector<StapleState> OcspEngine::staple_states() const {
  util::MutexLock lock(impl_->mu);
  std::vector<StapleState> out;
  for (const auto& [scope, s] : impl_->states) out.push_back(s);
  return out;
}

}  // namespace tlsgate::net
