// The OCSP engine against hostile responders (issue 13): garbage, a response
// about another certificate, one signed by a key that may not sign, an
// endless body, silence. Each is refused with a reason and the engine goes
// on; the responses are real ones from `openssl ocsp`, served by a scripted
// HTTP server so that the test decides what comes back on each connection.
// Also: a peer that a connection holds is asked about again when its answer
// is due, and a revocation learned then is reported (and closes the
// connections, net/gate.cc).
#include "net/ocsp_engine.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "scripted_server.h"
#include "support/ocsp_responder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/clock.h"

namespace tlsgate::net {
namespace {

using namespace std::chrono_literals;
using test::ScriptedServer;
using ::testing::HasSubstr;

std::string http_ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Answers every request with `response` (a whole HTTP response).
ScriptedServer::Script answer(std::string response) {
  return [response](ScriptedServer::Connection& c) {
    if (!c.read_request().empty() && c.send(response)) c.wait_client_close();
  };
}

class OcspEngineTest : public ::testing::Test {
 protected:
  OcspEngineTest() {
    tlsgate::test::LeafOptions o;
    o.server = false;
    o.client = true;
    alice_ = tlsgate::test::make_leaf(ca_, {"alice"}, o);
    bob_ = tlsgate::test::make_leaf(ca_, {"bob"}, o);
  }

  // A response from a real `openssl ocsp` about cert, as the CA's responder
  // (or `signer`) says it.
  std::string real_response(const X509* cert, bool revoked, const pki::Issued* signer = nullptr) {
    tlsgate::test::OcspResponder responder(dir_ / ("responder" + std::to_string(++responders_)),
                                           ca_, {.signer = signer});
    if (revoked) {
      responder.set_revoked(cert, util::SystemClock::instance().now());
    } else {
      responder.set_good(cert);
    }
    EXPECT_EQ(responder.start(), "");
    return responder.fetch(cert);
  }

  OcspEngine& engine(std::chrono::milliseconds deadline = 5000ms) {
    if (!engine_) {
      OcspEngine::Options o;
      o.state_dir = dir_ / "state";
      o.fetch_deadline = deadline;
      o.on_peer_revoked = [this](const std::string& id, const std::string&) {
        if (!reported_.exchange(true)) revoked_.set_value(id);
      };
      engine_ = std::make_unique<OcspEngine>(o, util::SystemClock::instance());
    }
    return *engine_;
  }

  PeerQuery query_for(const pki::Issued& leaf, uint16_t port) {
    PeerQuery q;
    q.leaf = pki::up_ref(leaf.cert.get());
    q.issuer = pki::up_ref(ca_.ca.cert.get());
    q.responder = "http://127.0.0.1:" + std::to_string(port) + "/";
    return q;
  }

  // Asks about alice at the server on `port`; the answer within 15 s.
  PeerStatus ask(uint16_t port, PeerHold* keep = nullptr) {
    auto answered = std::make_shared<std::promise<PeerStatus>>();
    auto future = answered->get_future();
    PeerHold hold = engine().check(query_for(alice_, port),
                                   [answered](PeerStatus s) { answered->set_value(s); });
    if (keep != nullptr) *keep = std::move(hold);
    if (future.wait_for(15s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 15 s";
      return {};
    }
    return future.get();
  }

  tlsgate::test::TempDir dir_;
  tlsgate::test::TestCa ca_ = tlsgate::test::make_test_ca("engine test CA");
  pki::Issued alice_, bob_;
  int responders_ = 0;
  std::promise<std::string> revoked_;  // the first revocation reported
  std::atomic<bool> reported_{false};
  std::unique_ptr<OcspEngine> engine_;  // last: its thread calls on_peer_revoked
};

TEST_F(OcspEngineTest, AGoodAnswerFromARealResponderIsGood) {
  ScriptedServer server(answer(http_ok(real_response(alice_.cert.get(), false))));
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kGood) << s.detail;
  EXPECT_THAT(s.detail, HasSubstr("is good"));
}

TEST_F(OcspEngineTest, GarbageIsRefusedWithTheReason) {
  ScriptedServer server(answer(http_ok(std::string(300, '\x30'))));
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_THAT(s.detail, HasSubstr("refused"));
}

TEST_F(OcspEngineTest, AResponseAboutAnotherCertificateIsRefused) {
  ScriptedServer server(answer(http_ok(real_response(bob_.cert.get(), false))));
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_THAT(s.detail, HasSubstr("refused"));
}

TEST_F(OcspEngineTest, AResponseSignedByAKeyThatMayNotSignIsRefused) {
  tlsgate::test::LeafOptions o;
  o.server = false;
  o.client = true;  // no id-kp-OCSPSigning
  auto impostor = tlsgate::test::make_leaf(ca_, {"impostor"}, o);
  ScriptedServer server(answer(http_ok(real_response(alice_.cert.get(), false, &impostor))));
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_THAT(s.detail, HasSubstr("refused"));
}

TEST_F(OcspEngineTest, AnEndlessBodyIsCutOffAtItsLimit) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n\r\n")) return;
    const std::string chunk(16 * 1024, '\x30');
    for (int i = 0; i < 4096 && c.send(chunk); ++i) {  // 64 MiB at most; the client hangs up first
    }
  });
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_FALSE(s.detail.empty());
}

TEST_F(OcspEngineTest, ASilentResponderTimesOut) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    c.read_request();
    c.pause(20s);
  });
  engine(300ms);
  const auto start = std::chrono::steady_clock::now();
  auto s = ask(server.port());
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_FALSE(s.detail.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// The first answer fails; the engine asks again while the connection holds
// alice (after its 5 s retry), learns she is revoked, and reports it.
TEST_F(OcspEngineTest, AHeldPeerIsAskedAgainAndARevocationThenIsReported) {
  const std::string revoked = http_ok(real_response(alice_.cert.get(), true));
  auto connections = std::make_shared<std::atomic<int>>(0);
  ScriptedServer server([revoked, connections](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    if (connections->fetch_add(1) == 0) {
      c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    } else if (c.send(revoked)) {
      c.wait_client_close();
    }
  });
  PeerHold hold;
  auto first = ask(server.port(), &hold);
  EXPECT_EQ(first.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_EQ(engine().peers_held(), 1U);
  auto reported = revoked_.get_future();
  ASSERT_EQ(reported.wait_for(20s), std::future_status::ready) << "not asked again";
  EXPECT_EQ(reported.get(), pki::fingerprint_sha256(alice_.cert.get()));
  hold = PeerHold();
  EXPECT_EQ(engine().peers_held(), 0U);
}

// More peers than fetches in flight (a reload that turns revocation checks
// on asks about every established peer at once): the one turned away is
// asked later all the same, and its revocation reported (review s23).
TEST_F(OcspEngineTest, APeerTurnedAwayByTheInFlightLimitIsAskedLater) {
  const std::string bob_revoked = http_ok(real_response(bob_.cert.get(), true));
  auto connections = std::make_shared<std::atomic<int>>(0);
  ScriptedServer server([bob_revoked, connections](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    if (connections->fetch_add(1) == 0) {  // alice's: in flight for a while, then no answer
      c.pause(1s);
      c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    } else if (c.send(bob_revoked)) {
      c.wait_client_close();
    }
  });
  OcspEngine::Options o;
  o.state_dir = dir_ / "state";
  o.peer_fetches_in_flight = 1;
  o.on_peer_revoked = [this](const std::string& id, const std::string&) {
    if (!reported_.exchange(true)) revoked_.set_value(id);
  };
  engine_ = std::make_unique<OcspEngine>(o, util::SystemClock::instance());
  auto bob_first = std::make_shared<std::promise<PeerStatus>>();
  PeerHold alice = engine_->check(query_for(alice_, server.port()), [](PeerStatus) {});
  PeerHold bob = engine_->check(query_for(bob_, server.port()),
                                [bob_first](PeerStatus s) { bob_first->set_value(s); });
  auto first = bob_first->get_future();
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
  auto s = first.get();
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_THAT(s.detail, HasSubstr("already in flight"));
  auto reported = revoked_.get_future();
  ASSERT_EQ(reported.wait_for(25s), std::future_status::ready) << "bob was never asked again";
  EXPECT_EQ(reported.get(), pki::fingerprint_sha256(bob_.cert.get()));
}

// Without a hold nothing is asked again: the failure is the last request.
TEST_F(OcspEngineTest, APeerNobodyHoldsIsNotAskedAgain) {
  ScriptedServer server(
      answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
  auto s = ask(server.port());  // the hold is dropped at once
  EXPECT_EQ(s.kind, PeerStatus::Kind::kUnavailable);
  EXPECT_FALSE(server.wait_for_requests(2, 7000ms));
  EXPECT_EQ(server.requests().size(), 1U);
}

}  // namespace
}  // namespace tlsgate::net
