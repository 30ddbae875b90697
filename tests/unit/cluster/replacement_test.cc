// The replacement state machine and the node driver on an in-memory store
// (memory_store.h): the phases, the commit rules, trust first, catch-up, and
// the refusals, with real certificates and real policy files but no etcd.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "cluster/node.h"
#include "cluster/propose.h"
#include "memory_store.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::cluster {
namespace {

using std::chrono::hours;
namespace fs = std::filesystem;

std::string pem(const X509* c) { return *pki::certificate_pem(c); }
std::string key_pem(const EVP_PKEY* k) { return *pki::private_key_pem(k); }
std::string serial_of(const pki::Issued& leaf) {
  return pki::describe(leaf.cert.get(), util::SystemClock::instance()).serial_hex;
}

pki::SecretBox box() { return *pki::SecretBox::from_bytes(util::Secret(std::string(32, 's'))); }

struct TestNode {
  test::TempDir dir;
  config::Config config;
  std::unique_ptr<FilesHost> host;
  std::unique_ptr<Node> node;

  std::string serving() const {
    return pki::describe(
               (*pki::load_certificates(config.policies.at("cluster").public_certificate))[0].get(),
               util::SystemClock::instance())
        .serial_hex;
  }
};

class Replacement : public ::testing::Test {
 protected:
  Replacement() : ca_(test::make_test_ca("Cluster CA")) {}

  // Three nodes whose current certificate is `current` (valid for days unless given).
  void start_nodes(std::optional<test::Validity> current = {}) {
    for (const char* name : {"a", "b", "c"}) {
      auto n = std::make_unique<TestNode>();
      auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true, current);
      n->config.policies["cluster"] = test::make_policy(n->dir.path(), "cluster", ca_, leaf);
      config::Connector c;
      c.name = "peer";
      c.listen_address = {"127.0.0.1", 7000};
      c.ssl_policy = "cluster";
      n->config.connectors["peer"] = c;
      n->config.cluster = cluster_settings(name);
      n->host = std::make_unique<FilesHost>(n->config, false, util::SystemClock::instance());
      NodeOptions options;
      options.cluster = n->config.cluster;
      options.state_dir = n->dir.path() / "state";
      n->node =
          std::make_unique<Node>(store_, *n->host, box(), options, util::SystemClock::instance());
      nodes_[name] = std::move(n);
    }
  }
  config::Cluster cluster_settings(const std::string& name) {
    config::Cluster k;
    k.enabled = true;
    k.name = "test";
    k.node_name = name;
    k.members = {"a", "b", "c"};
    k.scopes = {"cluster"};
    return k;
  }
  void sync(std::initializer_list<const char*> names) {
    for (int round = 0; round < 3; ++round) {
      for (const char* n : names) ASSERT_TRUE(nodes_.at(n)->node->sync());
    }
  }
  tl::expected<std::string, ProposalRefusal> propose_leaf(const pki::Issued& leaf,
                                                          bool immediate = false,
                                                          std::string trust = {}) {
    Proposal p;
    p.scope = "cluster";
    p.pair = {pem(leaf.cert.get()), key_pem(leaf.key.get()), "proposed"};
    p.immediate = immediate;
    p.trust_pem = std::move(trust);
    p.proposer = "test";
    auto facts = nodes_.at("a")->host->facts("cluster");
    return propose(store_, keys_, box(), p, facts->target, util::SystemClock::instance());
  }
  // As etcd holds it now (a node's own view is as fresh as its last read).
  ClusterStatus status() {
    return status_of(cluster_settings("a"), read_view(keys_, store_.range("")->kvs));
  }
  ReplacementStatus only_replacement() {
    auto s = status();
    EXPECT_EQ(s.replacements.size(), 1u);
    return s.replacements.empty() ? ReplacementStatus{} : s.replacements.front();
  }

  test::MemoryStore store_;
  Keys keys_ = keys_for("/tlsgate", "test");
  test::TestCa ca_;
  std::map<std::string, std::unique_ptr<TestNode>> nodes_;
};

TEST_F(Replacement, EveryMemberStagesThenOneCommitAndAllApply) {
  start_nodes();
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  auto id = propose_leaf(fresh);
  ASSERT_TRUE(id) << id.error().reasons.front();
  // The key is in etcd only sealed.
  for (const auto& [k, v] : store_.dump()) {
    EXPECT_EQ(v.find("PRIVATE KEY"), std::string::npos) << k;
  }
  sync({"a", "b"});
  EXPECT_EQ(only_replacement().phase, Phase::kProposed);  // c has not staged
  EXPECT_NE(nodes_.at("a")->serving(), serial_of(fresh));
  sync({"c", "a", "b"});
  auto r = only_replacement();
  EXPECT_EQ(r.phase, Phase::kApplied);
  EXPECT_EQ(r.record.commit_reason, "every member staged it");
  for (const auto& [name, n] : nodes_) {
    EXPECT_EQ(n->serving(), serial_of(fresh)) << name;
    EXPECT_EQ(r.reports.at(name).state, NodeState::kApplied);
    EXPECT_EQ(r.reports.at(name).serial, serial_of(fresh));
    EXPECT_TRUE(fs::exists(n->dir.path() / "state" / "cluster" / *id / "private.key"));
  }
}

TEST_F(Replacement, AStoppedNodeHoldsItStagedUntilTheExpiryRuleThenCatchesUp) {
  auto now = std::chrono::system_clock::now();
  start_nodes(test::Validity{now - hours(24), now + hours(24 * 30)});
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh));
  sync({"a", "b"});
  auto r = only_replacement();
  EXPECT_EQ(r.phase, Phase::kProposed);
  EXPECT_EQ(r.record.state, RecordState::kProposed);
  EXPECT_EQ(r.reports.count("c"), 0u);
}

TEST_F(Replacement, WithinSwitchBeforeExpiryItCommitsWithoutTheMissingNode) {
  auto now = std::chrono::system_clock::now();
  start_nodes(test::Validity{now - hours(24 * 80), now + hours(48)});
  sync({"a", "b"});  // a and b are up; c never came
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh));
  ASSERT_TRUE(nodes_.at("a")->node->sync());
  // b is up and has not staged yet: a waits for it (within the grace).
  EXPECT_EQ(only_replacement().record.state, RecordState::kProposed);
  sync({"b", "a"});
  auto r = only_replacement();
  EXPECT_EQ(r.record.state, RecordState::kCommitted);
  EXPECT_NE(r.record.commit_reason.find("within switch_before_expiry (3.0 days); committed "
                                        "without c"),
            std::string::npos)
      << r.record.commit_reason;
  EXPECT_EQ(nodes_.at("a")->serving(), serial_of(fresh));
  EXPECT_NE(nodes_.at("c")->serving(), serial_of(fresh));
  // c comes back: it applies by itself and says it caught up.
  sync({"c"});
  r = only_replacement();
  EXPECT_EQ(nodes_.at("c")->serving(), serial_of(fresh));
  EXPECT_EQ(r.reports.at("c").state, NodeState::kApplied);
  EXPECT_NE(r.reports.at("c").reason.find("caught up by itself"), std::string::npos);
  EXPECT_EQ(r.phase, Phase::kApplied);
}

TEST_F(Replacement, ImmediateCommitsAtOnce) {
  start_nodes();
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh, /*immediate=*/true));
  sync({"a"});
  auto r = only_replacement();
  EXPECT_EQ(r.record.state, RecordState::kCommitted);
  EXPECT_EQ(r.record.commit_reason, "immediate: requested by test");
  EXPECT_EQ(nodes_.at("a")->serving(), serial_of(fresh));
}

TEST_F(Replacement, BadProposalsAreRefusedBeforeAnythingIsWritten) {
  start_nodes();
  sync({"a", "b", "c"});  // members publish their listen hosts
  const auto before = store_.dump();
  auto other = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  Proposal mismatched;
  mismatched.scope = "cluster";
  mismatched.pair = {pem(fresh.cert.get()), key_pem(other.key.get()), "proposed"};
  auto facts = nodes_.at("a")->host->facts("cluster");
  auto r = propose(store_, keys_, box(), mismatched, facts->target, util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reasons.front().find("does not match"), std::string::npos)
      << r.error().reasons.front();

  auto narrow = test::make_leaf(ca_, {"localhost"}, true, true);
  auto n = propose_leaf(narrow);
  ASSERT_FALSE(n);
  std::string all;
  for (const auto& s : n.error().reasons) all += s + "\n";
  EXPECT_NE(all.find("member b listens on \"127.0.0.1\" for ssl.policy.cluster"), std::string::npos)
      << all;

  auto now = std::chrono::system_clock::now();
  auto expired = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true,
                                 test::Validity{now - hours(48), now - hours(1)});
  auto e = propose_leaf(expired);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().reasons.front().find("expired"), std::string::npos);
  EXPECT_EQ(store_.dump(), before);
}

TEST_F(Replacement, ANodeThatCannotVerifyReportsFailedAndNothingCommits) {
  start_nodes();
  // b no longer trusts the CA.
  fs::remove_all(nodes_.at("b")->config.policies.at("cluster").trusted_dir);
  fs::create_directories(nodes_.at("b")->config.policies.at("cluster").trusted_dir);
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh));
  sync({"a", "b", "c"});
  auto r = only_replacement();
  EXPECT_EQ(r.record.state, RecordState::kProposed);
  EXPECT_EQ(r.reports.at("b").state, NodeState::kFailed);
  EXPECT_NE(r.reports.at("b").reason.find("trusted_dir"), std::string::npos)
      << r.reports.at("b").reason;
  EXPECT_EQ(r.reports.at("a").state, NodeState::kStaged);
}

TEST_F(Replacement, ANewIssuerIsTrustedEverywhereBeforeAnyoneSwitches) {
  start_nodes();
  auto new_ca = test::make_test_ca("New Cluster CA");
  auto fresh = test::make_leaf(new_ca, {"localhost", "127.0.0.1"}, true, true);
  // Without the issuer to trust first, the chain does not verify.
  ASSERT_FALSE(propose_leaf(fresh));
  auto id = propose_leaf(fresh, false, pem(new_ca.ca.cert.get()));
  ASSERT_TRUE(id) << id.error().reasons.front();
  sync({"a", "b"});
  auto r = only_replacement();
  EXPECT_EQ(r.phase, Phase::kTrusting);
  for (const char* n : {"a", "b"}) {
    EXPECT_TRUE(fs::exists(nodes_.at(n)->config.policies.at("cluster").trusted_dir /
                           ("cluster-" + *id + ".crt")));
    EXPECT_NE(nodes_.at(n)->serving(), serial_of(fresh)) << "switched before every node trusts";
  }
  sync({"c", "a", "b"});
  r = only_replacement();
  EXPECT_EQ(r.phase, Phase::kApplied);
  for (const auto& [name, n] : nodes_) {
    EXPECT_EQ(n->serving(), serial_of(fresh)) << name;
    // The old issuer stays trusted until retired.
    EXPECT_TRUE(fs::exists(n->config.policies.at("cluster").trusted_dir / "ca.crt"));
  }
}

TEST_F(Replacement, TheOldIssuerIsRetiredOnCommandOnlyOnceNothingServedUsesIt) {
  start_nodes();
  auto new_ca = test::make_test_ca("New Cluster CA");
  const auto old_ca_pem = pem(ca_.ca.cert.get());
  auto current = nodes_.at("a")->config.policies.at("cluster").public_certificate;
  // Still the issuer of what a serves: refused.
  auto early = retire_trust(store_, keys_, "cluster", old_ca_pem, test::read_text(current), "test",
                            util::SystemClock::instance());
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("replace that certificate first"), std::string::npos);

  auto fresh = test::make_leaf(new_ca, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh, false, pem(new_ca.ca.cert.get())));
  sync({"a", "b", "c", "a", "b", "c"});
  ASSERT_EQ(only_replacement().phase, Phase::kApplied);
  ASSERT_TRUE(retire_trust(store_, keys_, "cluster", old_ca_pem, test::read_text(current), "test",
                           util::SystemClock::instance()));
  sync({"a", "b", "c"});
  for (const auto& [name, n] : nodes_) {
    const auto dir = n->config.policies.at("cluster").trusted_dir;
    EXPECT_FALSE(fs::exists(dir / "ca.crt")) << name;
    EXPECT_TRUE(fs::exists(dir / ".retired-ca.crt")) << name;
    EXPECT_TRUE(fs::exists(dir / ("cluster-" + only_replacement().record.id + ".crt"))) << name;
  }
}

TEST_F(Replacement, OneInFlightPerScopeAndAbort) {
  start_nodes();
  auto first = propose_leaf(test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true));
  ASSERT_TRUE(first);
  auto second = propose_leaf(test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().reasons.front().find("replacement " + *first +
                                                " of scope cluster is "
                                                "still in flight"),
            std::string::npos)
      << second.error().reasons.front();
  ASSERT_TRUE(abort_replacement(store_, keys_, *first, "test", util::SystemClock::instance()));
  EXPECT_FALSE(abort_replacement(store_, keys_, *first, "test", util::SystemClock::instance()));
  sync({"a", "b", "c"});
  auto s = status();
  ASSERT_EQ(s.replacements.size(), 1u);
  EXPECT_EQ(s.replacements[0].phase, Phase::kAborted);
  EXPECT_TRUE(s.replacements[0].reports.empty());  // nobody staged an aborted one
  EXPECT_TRUE(propose_leaf(test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true)));
}

// A Store that lets a second proposer run at the worst moment of the first:
// right before or right after the first proposer's first write.
class InterleavingStore : public Store {
 public:
  explicit InterleavingStore(Store& inner) : inner_(inner) {}
  std::function<void()> before_first_write, after_first_write;

  template <typename F>
  auto around(F write) -> decltype(write()) {
    auto before = std::exchange(before_first_write, nullptr);
    auto after = std::exchange(after_first_write, nullptr);
    if (before) before();
    auto out = write();
    if (after) after();
    return out;
  }

  util::Result<Snapshot> range(std::string_view prefix) override { return inner_.range(prefix); }
  util::Result<int64_t> put(std::string_view key, std::string_view value, int64_t lease) override {
    return around([&] { return inner_.put(key, value, lease); });
  }
  util::Result<bool> put_if(std::string_view key, std::string_view value,
                            int64_t expected) override {
    return around([&] { return inner_.put_if(key, value, expected); });
  }
  util::Result<bool> put_both_if(std::string_view key, std::string_view value, int64_t expected,
                                 std::string_view also_key, std::string_view also_value) override {
    return around([&] { return inner_.put_both_if(key, value, expected, also_key, also_value); });
  }
  util::Result<int64_t> transact(const std::vector<Condition>& when,
                                 const std::vector<Write>& then) override {
    return around([&] { return inner_.transact(when, then); });
  }
  util::Status remove(std::string_view key) override { return inner_.remove(key); }
  util::Result<int64_t> grant_lease(std::chrono::seconds ttl) override {
    return inner_.grant_lease(ttl);
  }
  util::Status keep_alive(int64_t lease) override { return inner_.keep_alive(lease); }
  util::Status watch(std::string_view prefix, int64_t start,
                     const std::function<void(const WatchEvent&)>& on_event,
                     std::stop_token stop) override {
    return inner_.watch(prefix, start, on_event, stop);
  }

 private:
  Store& inner_;
};

TEST_F(Replacement, TwoProposersInterleavedAtTheWorstMomentOnlyOneIsWritten) {
  start_nodes();
  auto facts = nodes_.at("a")->host->facts("cluster");
  ASSERT_TRUE(facts);
  InterleavingStore store(store_);
  auto proposal = [&] {
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
    Proposal p;
    p.scope = "cluster";
    p.pair = {pem(leaf.cert.get()), key_pem(leaf.key.get()), "proposed"};
    p.proposer = "test";
    return p;
  };
  const auto first = proposal(), second = proposal();
  for (bool after : {true, false}) {
    SCOPED_TRACE(after ? "second proposer right after the first one's first write"
                       : "second proposer right before the first one's first write");
    tl::expected<std::string, ProposalRefusal> other = tl::unexpected(ProposalRefusal{});
    auto run_second = [&] {
      other = propose(store, keys_, box(), second, facts->target, util::SystemClock::instance());
    };
    (after ? store.after_first_write : store.before_first_write) = run_second;
    auto one = propose(store, keys_, box(), first, facts->target, util::SystemClock::instance());
    EXPECT_NE(one.has_value(), other.has_value()) << "exactly one proposal may be written";
    const auto& refused = one ? other : one;
    ASSERT_FALSE(refused.has_value());
    ASSERT_FALSE(refused.error().reasons.empty());
    EXPECT_NE(refused.error().reasons.front().find(after ? "is still in flight"
                                                         : "proposed at the same moment and won"),
              std::string::npos)
        << refused.error().reasons.front();
    auto view = read_view(keys_, store_.range(keys_.base)->kvs);
    EXPECT_EQ(view.replacements.size(), 1u);
    // Clear the way for the next round.
    const auto& id = one ? *one : *other;
    ASSERT_TRUE(abort_replacement(store_, keys_, id, "test", util::SystemClock::instance()));
    ASSERT_TRUE(store_.remove(keys_.replacement(id)));
  }
}

TEST_F(Replacement, ExactlyOneCommitWhenTwoNodesRace) {
  start_nodes();
  ASSERT_TRUE(propose_leaf(test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true), true));
  auto snap = *store_.range(keys_.base);
  auto view = read_view(keys_, snap.kvs);
  ASSERT_EQ(view.replacements.size(), 1u);
  const auto& e = view.replacements.begin()->second;
  auto committed = e.record;
  committed.state = RecordState::kCommitted;
  int won = 0;
  for (const char* by : {"a", "b"}) {
    committed.decided_by = by;
    if (*store_.put_if(keys_.replacement(e.record.id), to_json(committed), e.mod_revision)) ++won;
  }
  EXPECT_EQ(won, 1);
}

TEST_F(Replacement, EtcdDownKeepsServingAndTheOperationResumes) {
  start_nodes();
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh));
  sync({"a"});
  store_.set_down(true);
  EXPECT_FALSE(nodes_.at("b")->node->sync());
  EXPECT_NE(nodes_.at("b")->serving(), serial_of(fresh));
  store_.set_down(false);
  sync({"b", "c", "a"});
  EXPECT_EQ(only_replacement().phase, Phase::kApplied);
}

TEST_F(Replacement, ThreadedNodesFollowTheWatch) {
  // spdlog makes its registry on first use, inside the (uninstrumented)
  // shared library: make it here, before the nodes' threads log at once.
  spdlog::default_logger();
  start_nodes();
  for (auto& [name, n] : nodes_) n->node->start();
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  ASSERT_TRUE(propose_leaf(fresh));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool all = false;
  while (!all && std::chrono::steady_clock::now() < deadline) {
    all = true;
    for (auto& [name, n] : nodes_) all = all && n->serving() == serial_of(fresh);
    if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(all);
  for (auto& [name, n] : nodes_) n->node->stop();
  // stop() removed each node's alive key.
  for (const auto& [k, v] : store_.dump()) EXPECT_EQ(k.find("/alive/"), std::string::npos) << k;
}

}  // namespace
}  // namespace tlsgate::cluster
