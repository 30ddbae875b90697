// 100 members against the state machine (issue 15, "Scale"): the time the
// replacement takes to commit and apply everywhere when each node works
// through it in turn, and what it costs the store in writes. The numbers
// are printed and recorded as test properties; the bounds asserted are the
// design's (a handful of writes per node, exactly one commit).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cluster/node.h"
#include "cluster/propose.h"
#include "memory_store.h"
#include "pki/encode.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::cluster {
namespace {

TEST(ClusterScale, AHundredMembersCommitOnceAndApplyWithAFewWritesEach) {
  constexpr int kMembers = 100;
  test::TempDir dir;
  auto ca = test::make_test_ca("Scale CA");
  auto current = test::make_leaf(ca, {"localhost", "127.0.0.1"}, true, true);
  std::vector<std::string> members;
  for (int i = 0; i < kMembers; ++i) members.push_back("n" + std::to_string(i));
  test::MemoryStore store;
  auto box = *pki::SecretBox::from_bytes(util::Secret(std::string(32, 'k')));
  std::vector<std::unique_ptr<FilesHost>> hosts;
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < kMembers; ++i) {
    config::Config c;
    c.policies["cluster"] = test::make_policy(dir.path() / members[i], "cluster", ca, current);
    config::Connector conn;
    conn.name = "peer";
    conn.listen_address = {"127.0.0.1", 7000};
    conn.ssl_policy = "cluster";
    c.connectors["peer"] = conn;
    c.cluster.enabled = true;
    c.cluster.name = "scale";
    c.cluster.node_name = members[i];
    c.cluster.members = members;
    hosts.push_back(std::make_unique<FilesHost>(c, false, util::SystemClock::instance()));
    NodeOptions options;
    options.cluster = c.cluster;
    options.state_dir = dir.path() / members[i] / "state";
    nodes.push_back(
        std::make_unique<Node>(store, *hosts.back(), box, options, util::SystemClock::instance()));
  }
  for (auto& n : nodes) ASSERT_TRUE(n->sync());  // join
  const auto joined_writes = store.writes();

  auto fresh = test::make_leaf(ca, {"localhost", "127.0.0.1"}, true, true);
  Proposal p;
  p.scope = "cluster";
  p.pair = {*pki::certificate_pem(fresh.cert.get()), *pki::private_key_pem(fresh.key.get()), "new"};
  p.proposer = "scale test";
  const auto start = std::chrono::steady_clock::now();
  auto id = propose(store, keys_for("/tlsgate", "scale"), box, p,
                    hosts[0]->facts("cluster")->target, util::SystemClock::instance());
  ASSERT_TRUE(id);
  for (auto& n : nodes) ASSERT_TRUE(n->sync());  // every node stages; the last commits
  const auto committed_after = std::chrono::steady_clock::now() - start;
  for (auto& n : nodes) ASSERT_TRUE(n->sync());  // the others apply
  const auto applied_after = std::chrono::steady_clock::now() - start;

  auto snap = *store.range("/tlsgate/scale/");
  config::Cluster k;
  k.name = "scale";
  k.members = members;
  auto status = status_of(k, read_view(keys_for("/tlsgate", "scale"), snap.kvs));
  ASSERT_EQ(status.replacements.size(), 1u);
  EXPECT_EQ(status.replacements[0].phase, Phase::kApplied);
  EXPECT_EQ(status.replacements[0].record.commit_reason, "every member staged it");
  const auto writes = store.writes() - joined_writes;
  const double ms_commit = std::chrono::duration<double, std::milli>(committed_after).count();
  const double ms_applied = std::chrono::duration<double, std::milli>(applied_after).count();
  std::printf(
      "100 members: committed after %.0f ms, applied everywhere after %.0f ms (state machine "
      "and files, in-memory store); %lld writes for the replacement (%.2f per member), %lld to "
      "join; %zu keys under the prefix\n",
      ms_commit, ms_applied, static_cast<long long>(writes), static_cast<double>(writes) / kMembers,
      static_cast<long long>(joined_writes), snap.kvs.size());
  ::testing::Test::RecordProperty("writes_per_member", std::to_string(writes / kMembers));
  // Per member: staged, applied, and its serial in members/; plus the record,
  // its slot and one commit.
  EXPECT_LE(writes, 3 * kMembers + 3);
}

}  // namespace
}  // namespace tlsgate::cluster
