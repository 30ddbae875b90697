// Cluster-wide ACME on an in-memory store (memory_store.h): the renewal
// lock on a node's lease and its takeover, the proposal guarded by the lock,
// the challenge records every node answers and acknowledges, and the rules
// of acme_records.h. Real certificates and policy files, no etcd, no CA.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/acme_link.h"
#include "cluster/acme_records.h"
#include "cluster/node.h"
#include "cluster/propose.h"
#include "memory_store.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::cluster {
namespace {

using acme::ChallengeKind;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

pki::SecretBox link_box() {
  return *pki::SecretBox::from_bytes(util::Secret(std::string(32, 's')));
}

// A node's local answerer (the gate's challenge store or its http-01
// responder in serve): what it was asked to answer.
class RecordingResponder : public acme::ChallengeResponder {
 public:
  util::Status publish(ChallengeKind kind, const std::string& identifier, const std::string& token,
                       const std::string& key_authorization) override {
    std::lock_guard lock(mu_);
    answers_[token] =
        std::string(acme::challenge_type(kind)) + " " + identifier + " " + key_authorization;
    return {};
  }
  void withdraw(ChallengeKind, const std::string&, const std::string& token) override {
    std::lock_guard lock(mu_);
    answers_.erase(token);
  }
  std::map<std::string, std::string> answers() const {
    std::lock_guard lock(mu_);
    return answers_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> answers_;
};

struct LinkNode {
  test::TempDir dir;
  config::Config config;
  std::unique_ptr<FilesHost> host;
  std::unique_ptr<Node> node;
  std::unique_ptr<AcmeLink> link;
  RecordingResponder local;
};

// Waits, bounded in time and count, until pred() holds.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto until = Clock::now() + limit;
  for (int i = 0; i < 1000000 && Clock::now() < until; ++i) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

class AcmeLinkTest : public ::testing::Test {
 protected:
  AcmeLinkTest() : ca_(test::make_test_ca("Cluster CA")) {}

  void make_nodes(std::chrono::seconds answer_timeout = std::chrono::seconds(5)) {
    for (const char* name : {"a", "b", "c"}) {
      auto n = std::make_unique<LinkNode>();
      auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
      n->config.policies["cluster"] = test::make_policy(n->dir.path(), "cluster", ca_, leaf);
      config::Connector c;
      c.name = "peer";
      c.listen_address = {"127.0.0.1", 7000};
      c.ssl_policy = "cluster";
      n->config.connectors["peer"] = c;
      n->config.cluster.enabled = true;
      n->config.cluster.name = "test";
      n->config.cluster.node_name = name;
      n->config.cluster.members = {"a", "b", "c"};
      n->config.cluster.scopes = {"cluster"};
      n->host = std::make_unique<FilesHost>(n->config, false, util::SystemClock::instance());
      NodeOptions options;
      options.cluster = n->config.cluster;
      options.state_dir = n->dir.path() / "state";
      options.acme_scopes = {"cluster"};
      n->node = std::make_unique<Node>(store_, *n->host, link_box(), options,
                                       util::SystemClock::instance());
      n->link = std::make_unique<AcmeLink>(*n->node, answer_timeout);
      n->link->answer_with("cluster", n->local);
      nodes_[name] = std::move(n);
    }
  }
  AcmeLink& link(const char* name) { return *nodes_.at(name)->link; }
  std::vector<KeyValue> stored(const std::string& prefix = "") {
    auto snap = store_.range(prefix);
    return snap ? snap->kvs : std::vector<KeyValue>{};
  }
  std::optional<AcmeLock> lock_in_store() {
    KvMap kvs;
    for (auto& kv : stored()) kvs[kv.key] = kv;
    return acme_lock(keys_, "cluster", kvs);
  }
  tls::CertificatePair fresh_pair() {
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
    return {*pki::certificate_pem(leaf.cert.get()), *pki::private_key_pem(leaf.key.get()), "ACME"};
  }
  size_t replacements() { return read_view(keys_, stored()).replacements.size(); }

  test::MemoryStore store_;
  Keys keys_ = keys_for("/tlsgate", "test");
  test::TestCa ca_;
  std::map<std::string, std::unique_ptr<LinkNode>> nodes_;
};

TEST_F(AcmeLinkTest, OneNodeTakesTheLockAndAnotherTakesItOverWhenItsLeaseEnds) {
  make_nodes();
  ASSERT_TRUE(nodes_.at("a")->node->sync());
  ASSERT_TRUE(nodes_.at("b")->node->sync());
  ASSERT_TRUE(nodes_.at("c")->node->sync());
  auto lock = lock_in_store();
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->node, "a");
  EXPECT_NE(lock->lease, 0);
  EXPECT_TRUE(link("a").turn("cluster").mine);
  for (const char* other : {"b", "c"}) {
    auto t = link(other).turn("cluster");
    EXPECT_FALSE(t.mine) << other;
    EXPECT_EQ(t.holder, "a") << other;
  }
  // a's lease runs out (a died): the lock goes with it, and the next node
  // to look takes it.
  store_.expire(lock->lease);
  EXPECT_FALSE(lock_in_store());
  ASSERT_TRUE(nodes_.at("c")->node->sync());
  ASSERT_TRUE(nodes_.at("b")->node->sync());
  lock = lock_in_store();
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->node, "c");
  EXPECT_TRUE(link("c").turn("cluster").mine);
  EXPECT_FALSE(link("b").turn("cluster").mine);
  EXPECT_EQ(read_view(keys_, stored()).acme_renewers.at("cluster"), "c");
}

TEST_F(AcmeLinkTest, ARenewerThatLostItsLeaseCannotPropose) {
  make_nodes();
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(nodes_.at(n)->node->sync());
  auto lock = lock_in_store();
  ASSERT_TRUE(lock);
  ASSERT_EQ(lock->node, "a");
  // a still believes it holds the lock (it has not read etcd since), but
  // its lease ended and b took the lock meanwhile.
  store_.expire(lock->lease);
  ASSERT_TRUE(nodes_.at("b")->node->sync());
  ASSERT_EQ(lock_in_store()->node, "b");
  ASSERT_TRUE(link("a").turn("cluster").mine);  // its stale view
  auto refused = link("a").deliver("cluster", fresh_pair());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("is no longer held by this node"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(replacements(), 0u);
  EXPECT_TRUE(stored(keys_.open("cluster")).empty());
  // The node that holds the lock proposes.
  auto delivered = link("b").deliver("cluster", fresh_pair());
  ASSERT_TRUE(delivered) << delivered.error().message();
  ASSERT_EQ(replacements(), 1u);
  auto view = read_view(keys_, stored());
  EXPECT_EQ(view.replacements.begin()->second.record.proposer, "ACME renewal on node b");
  EXPECT_FALSE(view.replacements.begin()->second.record.immediate);  // b serves a certificate
}

TEST_F(AcmeLinkTest, TheFirstCertificateIsProposedImmediate) {
  make_nodes();
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(nodes_.at(n)->node->sync());
  // a serves no certificate of the scope yet (ACME still obtaining it).
  fs::remove(nodes_.at("a")->config.policies.at("cluster").public_certificate);
  ASSERT_TRUE(link("a").deliver("cluster", fresh_pair()));
  auto view = read_view(keys_, stored());
  ASSERT_EQ(view.replacements.size(), 1u);
  EXPECT_TRUE(view.replacements.begin()->second.record.immediate);
}

TEST_F(AcmeLinkTest, TheRenewerIsBusyUntilItsReplacementIsAppliedHere) {
  make_nodes();
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(nodes_.at(n)->node->sync());
  ASSERT_TRUE(link("a").turn("cluster").busy.empty());
  auto pair = fresh_pair();
  ASSERT_TRUE(link("a").deliver("cluster", pair));
  EXPECT_NE(link("a").turn("cluster").busy, "");
  // Every node stages, one commits, every node applies.
  for (int round = 0; round < 3; ++round) {
    for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(nodes_.at(n)->node->sync());
  }
  auto view = read_view(keys_, stored());
  ASSERT_EQ(view.replacements.size(), 1u);
  EXPECT_EQ(view.replacements.begin()->second.record.state, RecordState::kCommitted);
  EXPECT_EQ(view.replacements.begin()->second.reports.at("a").state, NodeState::kApplied);
  auto t = link("a").turn("cluster");
  EXPECT_TRUE(t.mine);
  EXPECT_EQ(t.busy, "");
  // The pair reached a's files only through the replacement.
  auto served = nodes_.at("a")->host->facts("cluster");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->serial, view.replacements.begin()->second.record.serial);
}

TEST_F(AcmeLinkTest, EveryNodeAnswersThePublishedChallengeAndDropsItAfter) {
  make_nodes();
  for (auto& [name, n] : nodes_) n->node->start();
  ASSERT_TRUE(eventually([&] {
    return link("a").turn("cluster").mine || link("b").turn("cluster").mine ||
           link("c").turn("cluster").mine;
  }));
  const char* renewer = link("a").turn("cluster").mine   ? "a"
                        : link("b").turn("cluster").mine ? "b"
                                                         : "c";
  // Every node up before publishing, so each must acknowledge.
  ASSERT_TRUE(eventually([&] { return read_view(keys_, stored()).alive.size() == 3; }));
  auto& publisher = link(renewer).publisher("cluster");
  ASSERT_TRUE(
      publisher.publish(ChallengeKind::kTlsAlpn01, "db.example.com", "tok-1", "tok-1.thumbprint"));
  // publish() returns once every node that is up answers it.
  for (auto& [name, n] : nodes_) {
    auto answers = n->local.answers();
    ASSERT_EQ(answers.count("tok-1"), 1u) << name;
    EXPECT_EQ(answers.at("tok-1"), "tls-alpn-01 db.example.com tok-1.thumbprint") << name;
  }
  // The record carries no private key, and is bound to the renewer's lease.
  const auto challenges = stored(keys_.acme_challenges("cluster"));
  ASSERT_EQ(challenges.size(), 1u);
  for (const auto& kv : challenges) {
    EXPECT_EQ(kv.value.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(kv.lease, lock_in_store()->lease);
  }
  publisher.withdraw(ChallengeKind::kTlsAlpn01, "db.example.com", "tok-1");
  for (auto& [name, n] : nodes_) {
    const RecordingResponder* local = &n->local;  // clang 14: no structured binding in a lambda
    EXPECT_TRUE(eventually([local] { return local->answers().empty(); })) << name;
  }
  for (auto& [name, n] : nodes_) n->node->stop();
  // A node that stops gives the lock back at once.
  EXPECT_FALSE(lock_in_store());
}

TEST_F(AcmeLinkTest, ANonRenewerCannotPublish) {
  make_nodes(std::chrono::seconds(1));
  for (const char* n : {"a", "b"}) ASSERT_TRUE(nodes_.at(n)->node->sync());
  auto refused =
      link("b").publisher("cluster").publish(ChallengeKind::kHttp01, "x.test", "t", "t.k");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("no longer holds the ACME renewal lock"),
            std::string::npos);
  EXPECT_TRUE(stored(keys_.acme_challenges("cluster")).empty());
}

TEST(AcmeRecords, ChallengesAreParsedStrictly) {
  const Keys keys = keys_for("/p", "c");
  KvMap kvs;
  auto add = [&](const std::string& token, const std::string& value) {
    auto key = keys.acme_challenge("s", token);
    kvs[key] = KeyValue{key, value, 1, 1, 0};
  };
  add("good", to_json(AcmeChallenge{ChallengeKind::kHttp01, "x.test", "good", "good.t", "a"}));
  add("other", to_json(AcmeChallenge{ChallengeKind::kHttp01, "x.test", "good", "good.t", "a"}));
  add("bad-ka", to_json(AcmeChallenge{ChallengeKind::kHttp01, "x.test", "bad-ka", "zz.t", "a"}));
  add("junk", "not json");
  add("kind", R"({"kind":"dns-01","identifier":"x","token":"kind","key_authorization":"kind.t"})");
  std::vector<std::string> problems;
  auto found = acme_challenges(keys, "s", kvs, &problems);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found.at("good").key_authorization, "good.t");
  EXPECT_EQ(problems.size(), 4u);
  // Another scope's records are not this scope's.
  EXPECT_TRUE(acme_challenges(keys, "t", kvs).empty());
}

TEST(AcmeRecords, LockTakeoverAndAcknowledgements) {
  const Keys keys = keys_for("/p", "c");
  KvMap kvs;
  // Nobody holds it: taken only if still absent.
  auto when = acme_lock_takeover(keys, "s", kvs, "a", 7);
  ASSERT_TRUE(when);
  EXPECT_EQ(when->mod_revision, 0);
  kvs[keys.acme_lock("s")] = KeyValue{keys.acme_lock("s"), to_json(AcmeLock{"b", 1}), 5, 5, 9};
  EXPECT_FALSE(acme_lock_takeover(keys, "s", kvs, "a", 7));  // b holds it
  EXPECT_FALSE(acme_lock_takeover(keys, "s", kvs, "b", 9));  // b holds it already
  when = acme_lock_takeover(keys, "s", kvs, "b", 10);        // b's old lease
  ASSERT_TRUE(when);
  EXPECT_EQ(when->mod_revision, 5);
  kvs[keys.acme_lock("s")].value = "garbage";
  EXPECT_EQ(acme_lock(keys, "s", kvs)->node, "?");
  EXPECT_FALSE(acme_lock_takeover(keys, "s", kvs, "a", 7));

  kvs[keys.alive("a")] = KeyValue{keys.alive("a"), "{}", 1, 1, 1};
  kvs[keys.alive("b")] = KeyValue{keys.alive("b"), "{}", 1, 1, 2};
  kvs[keys.acme_answering("s", "a")] = KeyValue{keys.acme_answering("s", "a"), "10", 1, 10, 1};
  kvs[keys.acme_answering("s", "b")] = KeyValue{keys.acme_answering("s", "b"), "5", 1, 5, 2};
  kvs[keys.acme_answering("s", "gone")] = KeyValue{keys.acme_answering("s", "gone"), "1", 1, 1, 3};
  EXPECT_EQ(acme_not_answering(keys, "s", kvs, 7), std::vector<std::string>{"b"});
  EXPECT_TRUE(acme_not_answering(keys, "s", kvs, 5).empty());
  EXPECT_EQ(acme_not_answering(keys, "t", kvs, 1), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tlsgate::cluster
