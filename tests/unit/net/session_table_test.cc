#include "net/session_table.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tlsgate::net {
namespace {

using namespace std::chrono_literals;
using Kind = Revalidation::Kind;

// A session that records what it was asked, and may leave its table then
// (as a session closed by its re-check does).
class FakeSession final : public TrackedSession {
 public:
  FakeSession() = default;
  ~FakeSession() override { untrack(); }
  void revalidate(const Revalidation& what) override {
    asked.push_back({what.kind, what.side, std::string(what.trigger)});
    if (leave_when_asked) untrack();
  }
  void leave() { untrack(); }

  struct Asked {
    Kind kind;
    tls::Side side;
    std::string trigger;
  };
  std::vector<Asked> asked;
  bool leave_when_asked = false;
};

std::shared_ptr<util::Versioned<tls::Context>> context(const std::string& scope, bool revalidate,
                                                       tls::Side side) {
  auto ctx = std::make_shared<tls::Context>();
  ctx->side = side;
  ctx->policy.scope = scope;
  ctx->policy.revalidate_established = revalidate;
  return std::make_shared<util::Versioned<tls::Context>>(std::move(ctx));
}

// Connector `name` with policy `client` for its clients and, if given, `upstream` for its backend.
std::unique_ptr<ConnectorRuntime> connector(const std::string& name, const std::string& client,
                                            const std::string& upstream = "",
                                            bool revalidate = true) {
  auto c = std::make_unique<ConnectorRuntime>();
  c->settings.name = name;
  c->settings.ssl_policy = client;
  c->client_side = context(client, revalidate, tls::Side::kServer);
  if (!upstream.empty()) {
    c->settings.upstream_ssl_policy = upstream;
    c->upstream_side = context(upstream, revalidate, tls::Side::kClient);
  }
  return c;
}

class SessionTableTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` or 5 s passed.
  template <typename Done>
  bool run_until(Done done) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop_.restart();
      loop_.run_for(10ms);
    }
    return done();
  }

  boost::asio::io_context loop_;
  SessionTable table_{loop_};
};

TEST_F(SessionTableTest, APolicyChangeReachesOnlyTheSessionsOfThatPolicyAndSide) {
  auto a = connector("a", "p1");
  auto b = connector("b", "p2");
  auto c = connector("c", "p3", "p1");
  FakeSession a1, a2, b1, c1;
  table_.add(a1, *a, std::nullopt);
  table_.add(a2, *a, std::nullopt);
  table_.add(b1, *b, std::nullopt);
  table_.add(c1, *c, std::nullopt);
  EXPECT_EQ(table_.size(), 4u);

  table_.revalidate_policy("p1", tls::Side::kServer, "p1 reloaded");
  ASSERT_EQ(a1.asked.size(), 1u);
  EXPECT_EQ(a1.asked[0].kind, Kind::kContext);
  EXPECT_EQ(a1.asked[0].side, tls::Side::kServer);
  EXPECT_EQ(a1.asked[0].trigger, "p1 reloaded");
  EXPECT_EQ(a2.asked.size(), 1u);
  EXPECT_TRUE(b1.asked.empty());
  EXPECT_TRUE(c1.asked.empty());

  table_.revalidate_policy("p1", tls::Side::kClient, "p1 reloaded");
  ASSERT_EQ(c1.asked.size(), 1u);
  EXPECT_EQ(c1.asked[0].side, tls::Side::kClient);
  EXPECT_EQ(a1.asked.size(), 1u);
  for (auto* s : {&a1, &a2, &b1, &c1}) s->leave();
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(SessionTableTest, APolicyThatDoesNotRevalidateIsNotWalked) {
  auto a = connector("a", "p1", "", false);
  FakeSession s;
  table_.add(s, *a, std::nullopt);
  table_.revalidate_policy("p1", tls::Side::kServer, "p1 reloaded");
  PeerMatch any = [](const X509&) { return true; };
  table_.close_peers("p1", tls::Side::kServer, any, "revoked");
  EXPECT_TRUE(s.asked.empty());
  s.leave();
}

TEST_F(SessionTableTest, SessionsThatCloseDuringAWalkDoNotStopIt) {
  auto a = connector("a", "p1");
  std::vector<std::unique_ptr<FakeSession>> sessions;
  for (int i = 0; i < 5; ++i) {
    sessions.push_back(std::make_unique<FakeSession>());
    sessions.back()->leave_when_asked = i % 2 == 0;
    table_.add(*sessions.back(), *a, std::nullopt);
  }
  table_.revalidate_policy("p1", tls::Side::kServer, "p1 reloaded");
  for (auto& s : sessions) EXPECT_EQ(s->asked.size(), 1u);
  EXPECT_EQ(table_.size(), 2u);
  table_.revalidate_policy("p1", tls::Side::kServer, "p1 reloaded again");
  int asked_twice = 0;
  for (auto& s : sessions) asked_twice += s->asked.size() == 2;
  EXPECT_EQ(asked_twice, 2);
  for (auto& s : sessions) s->leave();
}

TEST_F(SessionTableTest, ClosePeersAndUserMapAskWithTheirKind) {
  auto a = connector("a", "p1", "up");
  FakeSession s;
  table_.add(s, *a, std::nullopt);
  PeerMatch any = [](const X509&) { return true; };
  table_.close_peers("up", tls::Side::kClient, any, "backend certificate revoked");
  table_.revalidate_connector(*a, {.kind = Kind::kUserMap, .trigger = "map reloaded"});
  ASSERT_EQ(s.asked.size(), 2u);
  EXPECT_EQ(s.asked[0].kind, Kind::kPeer);
  EXPECT_EQ(s.asked[0].side, tls::Side::kClient);
  EXPECT_EQ(s.asked[0].trigger, "backend certificate revoked");
  EXPECT_EQ(s.asked[1].kind, Kind::kUserMap);
  s.leave();
}

TEST_F(SessionTableTest, TheTimerChecksTheSessionsWhoseCertificatesExpired) {
  auto a = connector("a", "p1");
  auto now = std::chrono::system_clock::now();
  FakeSession expired1, expired2, later, none, gone;
  table_.add(expired1, *a, now - 3s);
  table_.add(later, *a, now + 1h);
  table_.add(expired2, *a, now - 2s);
  table_.add(none, *a, std::nullopt);
  table_.add(gone, *a, now - 4s);
  gone.leave();  // a session that ended leaves no expiry behind
  ASSERT_TRUE(table_.next_expiry());
  EXPECT_EQ(*table_.next_expiry(), now - 3s);

  ASSERT_TRUE(run_until([&] { return !expired1.asked.empty() && !expired2.asked.empty(); }));
  EXPECT_EQ(expired1.asked[0].kind, Kind::kExpiry);
  EXPECT_EQ(expired1.asked.size(), 1u) << "an expiry is checked once";
  EXPECT_TRUE(later.asked.empty());
  EXPECT_TRUE(none.asked.empty());
  EXPECT_TRUE(gone.asked.empty());
  EXPECT_EQ(table_.next_expiry(), now + 1h);
  EXPECT_EQ(table_.size(), 4u) << "a check that passes keeps the session listed";
  for (auto* s : {&expired1, &expired2, &later, &none}) s->leave();
  EXPECT_FALSE(table_.next_expiry());
}

TEST_F(SessionTableTest, AddingAgainKeepsTheEarliestExpiry) {
  auto a = connector("a", "p1", "up");
  auto now = std::chrono::system_clock::now();
  FakeSession s;
  table_.add(s, *a, now + 2h);  // the client's certificate
  table_.add(s, *a, now + 1h);  // then the backend's, which expires first
  table_.add(s, *a, now + 3h);
  EXPECT_EQ(table_.size(), 1u);
  EXPECT_EQ(table_.next_expiry(), now + 1h);
  s.leave();
}

TEST(SessionTableLifetime, DestroyingTheTableDetachesItsSessions) {
  auto a = connector("a", "p1");
  boost::asio::io_context loop;
  FakeSession s;
  {
    SessionTable table(loop);
    table.add(s, *a, std::chrono::system_clock::now() + 1h);
  }
  s.leave();  // touches nothing of the table (ASan would say)
  SUCCEED();
}

}  // namespace
}  // namespace tlsgate::net
