#include "cluster/etcd_store.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/https_session.h"
#include "support/etcd_server.h"
#include "support/loopback.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "tls/context.h"
#include "util/fd.h"

namespace tlsgate::cluster {
namespace {

using test::EtcdServer;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A client context of cluster.ssl_policy shape: `leaf` as our certificate,
// `trusted` as the CA of etcd's certificate.
std::shared_ptr<const tls::Context> client_context(const std::filesystem::path& dir,
                                                   const test::TestCa& trusted,
                                                   const pki::Issued& leaf) {
  auto policy = test::make_policy(dir, "cluster", trusted, leaf);
  auto ctx = tls::build_context(policy, tls::Side::kClient, {}, util::SystemClock::instance());
  if (!ctx) throw std::runtime_error(ctx.error().message());
  return *ctx;
}

std::unique_ptr<EtcdStore> make_store(std::vector<std::string> endpoints,
                                      std::shared_ptr<const tls::Context> ctx,
                                      Ms deadline = Ms(5000)) {
  EtcdStoreOptions options;
  options.endpoints = std::move(endpoints);
  options.tls_context = [ctx] { return ctx; };
  options.deadline = deadline;
  auto store = EtcdStore::create(std::move(options));
  if (!store) throw std::runtime_error(store.error().message());
  return std::move(*store);
}

// What a watch delivered, for the test thread to wait on.
class Events {
 public:
  void add(const WatchEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // True once n events arrived; false after `deadline`.
  bool wait_for(size_t n, Ms deadline = Ms(5000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return events_.size() >= n; });
  }
  std::vector<WatchEvent> get() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
};

// A watch on its own thread; its result once it returned.
class WatchThread {
 public:
  WatchThread(Store& store, std::string prefix, int64_t start) {
    thread_ = std::jthread([this, &store, prefix, start](std::stop_token stop) {
      auto s = store.watch(
          prefix, start, [this](const WatchEvent& e) { events.add(e); }, stop);
      std::lock_guard lock(mu_);
      result_ = s;
      returned_at_ = Clock::now();
      done_ = true;
      cv_.notify_all();
    });
  }
  ~WatchThread() { thread_.request_stop(); }
  void request_stop() { thread_.request_stop(); }
  // The watch's result, or nullopt if it has not returned within deadline.
  std::optional<util::Status> wait(Ms deadline = Ms(5000)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, deadline, [&] { return done_; })) return std::nullopt;
    return result_;
  }
  Clock::time_point returned_at() {
    std::lock_guard lock(mu_);
    return returned_at_;
  }
  Events events;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  util::Status result_;
  Clock::time_point returned_at_;
  std::jthread thread_;  // last: joined before the members it uses go
};

class EtcdStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    etcd_ = new EtcdServer();
    std::string why = etcd_->start();
    if (!why.empty()) {
      delete etcd_;
      etcd_ = nullptr;
      FAIL() << why;
    }
    ctx_ = new std::shared_ptr<const tls::Context>(
        client_context(etcd_->dir() / "client", etcd_->ca(), etcd_->client()));
  }
  static void TearDownTestSuite() {
    delete ctx_;
    delete etcd_;
    ctx_ = nullptr;
    etcd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(etcd_, nullptr);
    store_ = make_store({etcd_->endpoint()}, *ctx_);
    prefix_ =
        std::string("/t/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }

  static EtcdServer* etcd_;
  static std::shared_ptr<const tls::Context>* ctx_;
  std::unique_ptr<EtcdStore> store_;
  std::string prefix_;
};

EtcdServer* EtcdStoreTest::etcd_ = nullptr;
std::shared_ptr<const tls::Context>* EtcdStoreTest::ctx_ = nullptr;

TEST_F(EtcdStoreTest, PutRangeRemove) {
  // Bytes the JSON gateway must carry through base64 untouched.
  std::string binary("v\0\xff\n\"", 5);
  auto r1 = store_->put(prefix_ + "b", binary);
  ASSERT_TRUE(r1) << r1.error().message();
  auto r2 = store_->put(prefix_ + "a", "1");
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_GT(*r2, *r1);
  ASSERT_TRUE(store_->put(prefix_ + "outside", "x").has_value());  // not under prefix_ + "a"..
  ASSERT_TRUE(store_->put(prefix_.substr(0, prefix_.size() - 1) + "0", "x").has_value());

  auto snap = store_->range(prefix_);
  ASSERT_TRUE(snap) << snap.error().message();
  ASSERT_EQ(snap->kvs.size(), 3u);
  EXPECT_EQ(snap->kvs[0].key, prefix_ + "a");
  EXPECT_EQ(snap->kvs[0].value, "1");
  EXPECT_EQ(snap->kvs[0].mod_revision, *r2);
  EXPECT_EQ(snap->kvs[0].create_revision, *r2);
  EXPECT_EQ(snap->kvs[1].key, prefix_ + "b");
  EXPECT_EQ(snap->kvs[1].value, binary);
  EXPECT_EQ(snap->kvs[1].mod_revision, *r1);
  EXPECT_EQ(snap->kvs[2].key, prefix_ + "outside");
  EXPECT_GE(snap->revision, *r2);

  ASSERT_TRUE(store_->remove(prefix_ + "a").has_value());
  ASSERT_TRUE(store_->remove(prefix_ + "never-there").has_value());
  snap = store_->range(prefix_ + "a");
  ASSERT_TRUE(snap) << snap.error().message();
  EXPECT_TRUE(snap->kvs.empty());
  EXPECT_GT(snap->revision, *r2);
}

TEST_F(EtcdStoreTest, PutIfWritesOnlyOnTheExpectedRevision) {
  std::string key = prefix_ + "record";
  auto created = store_->put_if(key, "v1", 0);
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_TRUE(*created);
  auto again = store_->put_if(key, "v-other", 0);  // exists now
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(*again);

  auto snap = store_->range(key);
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  int64_t rev = snap->kvs[0].mod_revision;
  auto stale = store_->put_if(key, "v-stale", rev - 1);
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
  auto current = store_->put_if(key, "v2", rev);
  ASSERT_TRUE(current) << current.error().message();
  EXPECT_TRUE(*current);
  auto lost = store_->put_if(key, "v3", rev);  // a second writer on the same revision
  ASSERT_TRUE(lost);
  EXPECT_FALSE(*lost);

  snap = store_->range(key);
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  EXPECT_EQ(snap->kvs[0].value, "v2");
  EXPECT_GT(snap->kvs[0].mod_revision, rev);
}

TEST_F(EtcdStoreTest, LeaseKeepsItsKeyAliveThenExpiryRemovesIt) {
  auto lease = store_->grant_lease(std::chrono::seconds(1));
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_NE(*lease, 0);
  auto rev = store_->put(prefix_ + "alive", "node1", *lease);
  ASSERT_TRUE(rev) << rev.error().message();
  auto snap = store_->range(prefix_);
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  EXPECT_EQ(snap->kvs[0].lease, *lease);

  auto kept = store_->keep_alive(*lease);
  EXPECT_TRUE(kept) << kept.error().message();

  WatchThread watch(*store_, prefix_, *rev + 1);
  auto t0 = Clock::now();
  ASSERT_TRUE(watch.events.wait_for(1, Ms(5000))) << "the key was not removed within 5 s";
  auto e = watch.events.get()[0];
  EXPECT_EQ(e.type, WatchEvent::Type::kDelete);
  EXPECT_EQ(e.kv.key, prefix_ + "alive");
  std::printf("lease of 1 s: key removed %.0f ms after the last keep_alive\n", ms_since(t0));

  auto expired = store_->keep_alive(*lease);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message().find("lease " + std::to_string(*lease) + " has expired"),
            std::string::npos)
      << expired.error().message();
  EXPECT_NE(expired.error().message().find("grant a new lease"), std::string::npos);
}

// The cluster's ACME lock (acme_link.h): taken on a lease only while
// absent, and a write guarded by its revision fails once the lease ended.
TEST_F(EtcdStoreTest, TransactionTakesALockOnALeaseAndGuardsAWriteWithIt) {
  const std::string lock = prefix_ + "acme/lock/s";
  const std::string record = prefix_ + "replacements/r1";
  auto lease = store_->grant_lease(std::chrono::seconds(1));
  ASSERT_TRUE(lease) << lease.error().message();
  auto taken = store_->transact({Condition{lock, 0}}, {Write{lock, "a", *lease}});
  ASSERT_TRUE(taken) << taken.error().message();
  ASSERT_GT(*taken, 0);
  auto snap = store_->range(lock);
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  EXPECT_EQ(snap->kvs[0].lease, *lease);
  EXPECT_EQ(snap->kvs[0].mod_revision, *taken);
  // A second taker finds it held: nothing written.
  auto second = store_->transact({Condition{lock, 0}}, {Write{lock, "b"}});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(store_->range(lock)->kvs.at(0).value, "a");
  // Two conditions, two writes: all or none.
  auto both = store_->transact({Condition{lock, *taken}, Condition{record, 0}},
                               {Write{record, "x"}, Write{prefix_ + "open/s", "r1"}});
  ASSERT_TRUE(both) << both.error().message();
  EXPECT_GT(*both, *taken);
  EXPECT_EQ(store_->range(prefix_ + "open/")->kvs.size(), 1u);

  WatchThread watch(*store_, lock, *both + 1);
  ASSERT_TRUE(watch.events.wait_for(1, Ms(5000))) << "the lock did not go with its lease";
  EXPECT_EQ(watch.events.get()[0].type, WatchEvent::Type::kDelete);
  auto guarded = store_->transact({Condition{lock, *taken}}, {Write{record, "late"}});
  ASSERT_TRUE(guarded) << guarded.error().message();
  EXPECT_EQ(*guarded, 0);
  EXPECT_EQ(store_->range(record)->kvs.at(0).value, "x");
  // A delete in a transaction.
  auto removed = store_->transact({}, {Write{record, "", 0, true}});
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_TRUE(store_->range(record)->kvs.empty());
}

TEST_F(EtcdStoreTest, WatchDeliversPutsAndDeletesInOrderFromStartRevision) {
  auto r1 = store_->put(prefix_ + "k1", "a");
  ASSERT_TRUE(r1);
  ASSERT_TRUE(store_->put(prefix_ + "k2", "b"));
  ASSERT_TRUE(store_->remove(prefix_ + "k1"));
  ASSERT_TRUE(store_->put(prefix_.substr(0, prefix_.size() - 1) + "X", "not mine"));

  WatchThread watch(*store_, prefix_, *r1);
  ASSERT_TRUE(watch.events.wait_for(3));
  // Live events after the history, with their latency from put() returning.
  std::vector<double> latency;
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->put(prefix_ + "live", std::to_string(i)));
    ASSERT_TRUE(watch.events.wait_for(4 + i));
    latency.push_back(ms_since(t0));
  }
  auto events = watch.events.get();
  ASSERT_EQ(events.size(), 23u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events[0].kv.key, prefix_ + "k1");
  EXPECT_EQ(events[0].kv.value, "a");
  EXPECT_EQ(events[0].kv.mod_revision, *r1);
  EXPECT_EQ(events[1].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events[1].kv.key, prefix_ + "k2");
  EXPECT_EQ(events[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events[2].kv.key, prefix_ + "k1");
  EXPECT_EQ(events[2].kv.value, "");
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].kv.mod_revision, events[i - 1].kv.mod_revision);
  }
  EXPECT_EQ(events.back().kv.value, "19");
  std::sort(latency.begin(), latency.end());
  std::printf("watch latency put() returned -> event: median %.2f ms, max %.2f ms\n",
              latency[latency.size() / 2], latency.back());
}

TEST_F(EtcdStoreTest, WatchReturnsPromptlyOnStop) {
  auto rev = store_->put(prefix_ + "k", "v");
  ASSERT_TRUE(rev);
  WatchThread watch(*store_, prefix_, *rev);
  ASSERT_TRUE(watch.events.wait_for(1));  // the stream is up
  auto t0 = Clock::now();
  watch.request_stop();
  auto result = watch.wait(Ms(2000));
  ASSERT_TRUE(result.has_value()) << "watch() did not return within 2 s of the stop request";
  EXPECT_TRUE(*result) << result->error().message();
  double took = std::chrono::duration<double, std::milli>(watch.returned_at() - t0).count();
  std::printf("watch returned %.2f ms after the stop request\n", took);
  EXPECT_LT(took, 200.0);
}

TEST_F(EtcdStoreTest, WatchOfACompactedRevisionFailsNamingIt) {
  auto r1 = store_->put(prefix_ + "k", "1");
  ASSERT_TRUE(r1);
  auto r2 = store_->put(prefix_ + "k", "2");
  ASSERT_TRUE(r2);
  // Compaction is not part of Store: ask the gateway directly.
  net::HttpsSession session(net::parse_base_url(etcd_->endpoint()).value(), [] { return *ctx_; });
  auto compacted =
      session.post("/v3/kv/compaction", "{\"revision\":\"" + std::to_string(*r2) + "\"}",
                   Clock::now() + Ms(5000), 4096);
  ASSERT_TRUE(compacted) << compacted.error().message();
  ASSERT_EQ(compacted->status, 200) << compacted->body;

  WatchThread watch(*store_, prefix_, *r1);
  auto result = watch.wait();
  ASSERT_TRUE(result.has_value()) << "watch() of a compacted revision did not return";
  ASSERT_FALSE(*result);
  const auto& m = result->error().message();
  EXPECT_NE(m.find(etcd_->endpoint()), std::string::npos) << m;
  EXPECT_NE(m.find("revision " + std::to_string(*r1) + " is compacted"), std::string::npos) << m;
  EXPECT_NE(m.find("read a new snapshot"), std::string::npos) << m;
  EXPECT_TRUE(watch.events.get().empty());
}

TEST_F(EtcdStoreTest, FailsOverFromADeadFirstEndpointAndRemembers) {
  std::string dead = "https://127.0.0.1:" + std::to_string(test::free_loopback_port());
  auto store = make_store({dead, etcd_->endpoint()}, *ctx_);
  EXPECT_EQ(store->preferred_endpoint(), dead);
  auto rev = store->put(prefix_ + "k", "v");
  ASSERT_TRUE(rev) << rev.error().message();
  EXPECT_EQ(store->preferred_endpoint(), etcd_->endpoint());
  auto snap = store->range(prefix_);
  ASSERT_TRUE(snap && snap->kvs.size() == 1);

  // The watch fails over too.
  WatchThread watch(*store, prefix_, *rev);
  EXPECT_TRUE(watch.events.wait_for(1));
}

// Accepts connections on 127.0.0.1, reads a request's first bytes and
// hangs up without an answer, until destroyed.
class HangUpServer {
 public:
  HangUpServer() : listener_(test::listen_loopback(&port_)) {
    thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested()) {  // bounded: ends with the server
        pollfd p{listener_.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        util::Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c.valid()) continue;
        pollfd q{c.get(), POLLIN, 0};
        char buffer[4096];
        if (::poll(&q, 1, 5000) > 0) (void)::recv(c.get(), buffer, sizeof buffer, 0);
      }
    });
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  util::Fd listener_;
  std::jthread thread_;
};

TEST_F(EtcdStoreTest, APutIfWhoseAnswerWasLostIsNotSentAgainElsewhere) {
  HangUpServer hang_up;
  auto store = make_store({hang_up.endpoint(), etcd_->endpoint()}, *ctx_);
  auto written = store->put_if(prefix_ + "k", "v", 0);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message().rfind(
                "etcd endpoint " + hang_up.endpoint() + " did not answer POST /v3/kv/txn: ", 0),
            0u)
      << written.error().message();
  EXPECT_NE(written.error().message().find(
                "etcd may or may not have applied it: read the key before trying again"),
            std::string::npos);
  auto snap = store_->range(prefix_);
  ASSERT_TRUE(snap);
  EXPECT_TRUE(snap->kvs.empty());  // it never reached etcd

  // Idempotent calls move on to the next endpoint.
  auto rev = store->put(prefix_ + "k", "v");
  ASSERT_TRUE(rev) << rev.error().message();
  EXPECT_EQ(store->preferred_endpoint(), etcd_->endpoint());
}

TEST_F(EtcdStoreTest, NoEndpointAnsweringIsOneErrorNamingEach) {
  std::string dead1 = "https://127.0.0.1:" + std::to_string(test::free_loopback_port());
  std::string dead2 = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
  auto store = make_store({dead1, dead2}, *ctx_);
  auto rev = store->put(prefix_ + "k", "v");
  ASSERT_FALSE(rev);
  const auto& m = rev.error().message();
  EXPECT_NE(m.find(dead1 + ": connect: Connection refused"), std::string::npos) << m;
  EXPECT_NE(m.find(dead2 + ": connect: Connection refused"), std::string::npos) << m;
  EXPECT_NE(m.find("check that etcd runs at those addresses (cluster.etcd_endpoints)"),
            std::string::npos)
      << m;
}

TEST_F(EtcdStoreTest, ClientCertificateFromAnotherCaIsRefused) {
  auto other_ca = test::make_test_ca("not etcd's CA");
  auto stranger = test::make_leaf(other_ca, {"stranger"}, false, true);
  test::TempDir dir;
  auto store = make_store({etcd_->endpoint()}, client_context(dir.path(), etcd_->ca(), stranger));
  // TLS 1.3: etcd refuses after our handshake is done. Its alert arrives
  // either before our request (then it is read and explained) or is
  // overtaken by its reset (then the closed connection is explained); each
  // attempt is a new connection, so a few cover both.
  for (int i = 0; i < 5; ++i) {
    auto snap = store->range(prefix_);
    ASSERT_FALSE(snap);
    const auto& m = snap.error().message();
    EXPECT_NE(m.find(etcd_->endpoint()), std::string::npos) << m;
    bool alert =
        m.find("does not trust our certificate (issuer CN=not etcd's CA") != std::string::npos;
    bool closed = m.find(
                      "as a server does when it refuses our client certificate (CN=stranger,"
                      "O=tlsgate, issuer CN=not etcd's CA") != std::string::npos;
    EXPECT_TRUE(alert || closed) << m;
  }
}

TEST_F(EtcdStoreTest, ServerCertificateWithoutTheEndpointsNameIsRefused) {
  // etcd's certificate names 127.0.0.1 and etcd.test, not localhost.
  std::string endpoint = "https://localhost:" + std::to_string(etcd_->client_port());
  auto store = make_store({endpoint}, *ctx_);
  auto snap = store->range(prefix_);
  ASSERT_FALSE(snap);
  const auto& m = snap.error().message();
  EXPECT_NE(m.find(endpoint + ": TLS handshake:"), std::string::npos) << m;
  EXPECT_NE(m.find("does not name localhost"), std::string::npos) << m;
}

TEST_F(EtcdStoreTest, ServerCertificateFromAnUntrustedCaIsRefused) {
  auto other_ca = test::make_test_ca("some other CA");
  test::TempDir dir;
  auto store =
      make_store({etcd_->endpoint()}, client_context(dir.path(), other_ca, etcd_->client()));
  auto rev = store->put(prefix_ + "k", "v");
  ASSERT_FALSE(rev);
  const auto& m = rev.error().message();
  EXPECT_NE(m.find(etcd_->endpoint() + ": TLS handshake:"), std::string::npos) << m;
  EXPECT_NE(m.find("failed verification against ssl.policy.cluster.trusted_dir"), std::string::npos)
      << m;
}

TEST_F(EtcdStoreTest, CallsFromSeveralThreadsAtOnce) {
  constexpr int kThreads = 6;
  constexpr int kCalls = 30;
  std::vector<std::string> errors[kThreads];
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          std::string key = prefix_ + std::to_string(t) + "/" + std::to_string(i);
          auto written = store_->put_if(key, "v", 0);
          if (!written || !*written) {
            errors[t].push_back(written ? "put_if(" + key + ") compared false"
                                        : written.error().message());
          }
        }
      });
    }
  }
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e.front();
  auto snap = store_->range(prefix_);
  ASSERT_TRUE(snap) << snap.error().message();
  EXPECT_EQ(snap->kvs.size(), size_t{kThreads * kCalls});
}

TEST_F(EtcdStoreTest, UnaryCallLatency) {
  auto fresh = make_store({etcd_->endpoint()}, *ctx_);
  auto t_first = Clock::now();
  ASSERT_TRUE(fresh->put(prefix_ + "first", "v"));
  std::printf(
      "first call of a new store (TCP connect, TLS 1.3 handshake with client "
      "certificate, put): %.2f ms\n",
      ms_since(t_first));
  constexpr int kCalls = 200;
  std::vector<double> took;
  for (int i = 0; i < kCalls; ++i) {
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->put(prefix_ + "k", std::to_string(i)));
    took.push_back(ms_since(t0));
  }
  std::vector<double> reads;
  for (int i = 0; i < kCalls; ++i) {
    auto t0 = Clock::now();
    auto snap = store_->range(prefix_ + "k");
    ASSERT_TRUE(snap && snap->kvs.size() == 1);
    reads.push_back(ms_since(t0));
  }
  std::sort(took.begin(), took.end());
  std::sort(reads.begin(), reads.end());
  std::printf(
      "put over mTLS, kept-alive: median %.2f ms, p99 %.2f ms; range: median %.2f ms, "
      "p99 %.2f ms\n",
      took[kCalls / 2], took[kCalls * 99 / 100], reads[kCalls / 2], reads[kCalls * 99 / 100]);
  auto snap = store_->range(prefix_ + "k");
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  EXPECT_EQ(snap->kvs[0].value, std::to_string(kCalls - 1));
}

// The tests that stop etcd have one of their own.

TEST(EtcdStoreStopTest, WatchFailsWhenEtcdStopsAndCallsWorkAfterItReturns) {
  EtcdServer etcd;
  ASSERT_EQ(etcd.start(), "");
  auto store = make_store(
      {etcd.endpoint()}, client_context(etcd.dir() / "client", etcd.ca(), etcd.client()), Ms(2000));
  auto rev = store->put("/stop/k", "before");
  ASSERT_TRUE(rev) << rev.error().message();
  WatchThread watch(*store, "/stop/", *rev);
  ASSERT_TRUE(watch.events.wait_for(1));

  auto t0 = Clock::now();
  etcd.stop();
  auto result = watch.wait(Ms(15000));
  ASSERT_TRUE(result.has_value()) << "watch() went on after etcd stopped";
  std::printf("watch returned %.0f ms after etcd was asked to stop\n", ms_since(t0));
  ASSERT_FALSE(*result);
  const auto& m = result->error().message();
  // etcd ends the stream as it shuts down; killed, it would break it.
  EXPECT_NE(m.find(etcd.endpoint()), std::string::npos) << m;
  EXPECT_NE(m.find("\"/stop/\""), std::string::npos) << m;
  EXPECT_NE(m.find("watch again"), std::string::npos) << m;

  auto down = store->range("/stop/");
  ASSERT_FALSE(down);
  EXPECT_NE(down.error().message().find(etcd.endpoint() + ": connect: Connection refused"),
            std::string::npos)
      << down.error().message();

  // Same ports, same data: the kept-alive connection is gone, a new one works.
  ASSERT_EQ(etcd.start(), "");
  auto snap = store->range("/stop/");
  ASSERT_TRUE(snap) << snap.error().message();
  ASSERT_EQ(snap->kvs.size(), 1u);
  EXPECT_EQ(snap->kvs[0].value, "before");
}

TEST(EtcdStorePlaintextTest, WorksOverHttp) {
  EtcdServer etcd(EtcdServer::Options{.tls = false});
  ASSERT_EQ(etcd.start(), "");
  EXPECT_EQ(etcd.endpoint().rfind("http://", 0), 0u);
  EtcdStoreOptions options;
  options.endpoints = {etcd.endpoint()};
  auto store = EtcdStore::create(options);
  ASSERT_TRUE(store) << store.error().message();
  auto rev = (*store)->put("/plain/k", "v");
  ASSERT_TRUE(rev) << rev.error().message();
  auto snap = (*store)->range("/plain/");
  ASSERT_TRUE(snap && snap->kvs.size() == 1);
  EXPECT_EQ(snap->kvs[0].value, "v");
}

TEST(EtcdStoreCreateTest, RefusesBadEndpoints) {
  auto none = EtcdStore::create({});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("cluster.etcd_endpoints is empty"), std::string::npos);

  EtcdStoreOptions bad;
  bad.endpoints = {"etcd1:2379"};
  auto r = EtcdStore::create(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "cluster.etcd_endpoints: \"etcd1:2379\" is not a base URL: it starts with neither "
            "https:// nor http://; write https://HOST:PORT or http://HOST:PORT");

  EtcdStoreOptions no_tls;
  no_tls.endpoints = {"https://etcd1:2379"};
  r = EtcdStore::create(no_tls);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "cluster.etcd_endpoints: https://etcd1:2379 uses https but no client TLS context was "
            "given; set cluster.ssl_policy to the policy of the link to etcd");
}

}  // namespace
}  // namespace tlsgate::cluster
