// HttpsSession against scripted plaintext servers: framing, keep-alive,
// deadlines and stop. The TLS side runs against a real etcd in
// tests/unit/cluster/etcd_store_test.cc.
#include "net/https_session.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "unit/net/scripted_server.h"

namespace tlsgate::net {
namespace {

using test::ScriptedServer;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

HttpsSession plain_session(uint16_t port) {
  return HttpsSession(parse_base_url("http://127.0.0.1:" + std::to_string(port)).value(), {});
}

Deadline in(Ms ms) { return Clock::now() + ms; }

TEST(BaseUrlTest, TakesSchemeHostAndPort) {
  auto u = parse_base_url("https://etcd1.example:2379");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "etcd1.example");
  EXPECT_EQ(u->port, 2379);
  EXPECT_EQ(u->text, "https://etcd1.example:2379");

  u = parse_base_url("http://[::1]:80/");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->text, "http://[::1]:80");

  EXPECT_EQ(parse_base_url("https://10.0.0.1").value().port, 443);
  EXPECT_EQ(parse_base_url("http://[::1]").value().port, 80);
}

TEST(BaseUrlTest, RefusesWhatIsNotABaseUrl) {
  EXPECT_EQ(parse_base_url("etcd1:2379").error().message(),
            "\"etcd1:2379\" is not a base URL: it starts with neither https:// nor http://; "
            "write https://HOST:PORT or http://HOST:PORT");
  EXPECT_EQ(parse_base_url("https://etcd1:2379/v3").error().message(),
            "\"https://etcd1:2379/v3\" is not a base URL: it has a path; write https://HOST:PORT "
            "or http://HOST:PORT");
  EXPECT_FALSE(parse_base_url("https://etcd1:0"));
  EXPECT_FALSE(parse_base_url("https://user@etcd1:2379"));
  EXPECT_FALSE(parse_base_url("https://"));
}

TEST(HttpsSessionTest, PostsAndKeepsTheConnection) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    for (int i = 0; i < 2; ++i) {
      if (c.read_request().empty()) return;
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    }
  });
  auto session = plain_session(server.port());
  for (int i = 0; i < 2; ++i) {
    auto r = session.post("/v3/kv/put", "{\"key\":\"a2V5\"}", in(Ms(5000)), 1024);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{}");
  }
  EXPECT_EQ(server.accepted(), 1u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].rfind("POST /v3/kv/put HTTP/1.1\r\n", 0), 0u) << requests[0];
  EXPECT_NE(requests[0].find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(requests[0].find("\r\n\r\n{\"key\":\"a2V5\"}"), std::string::npos);
}

TEST(HttpsSessionTest, RequestSendsMethodAndTypeAndReturnsHeaders) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    // HEAD: a Content-Length but no body, then a POST on the same connection.
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nReplay-Nonce: n1\r\nContent-Length: 99\r\n\r\n");
    if (c.read_request().empty()) return;
    c.send(
        "HTTP/1.1 201 Created\r\nLocation: /acct/1\r\nLink: <a>;rel=\"up\"\r\n"
        "link: <b>;rel=\"alternate\"\r\nContent-Length: 2\r\n\r\n{}");
  });
  auto session = plain_session(server.port());
  HttpRequest head;
  head.method = "HEAD";
  head.target = "/nonce";
  head.accept = "";
  auto r = session.request(head, in(Ms(5000)), 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->header("replay-nonce"), "n1");
  EXPECT_EQ(r->body, "");
  HttpRequest post;
  post.method = "POST";
  post.target = "/new-acct";
  post.content_type = "application/jose+json";
  post.body = "{\"protected\":\"x\"}";
  r = session.request(post, in(Ms(5000)), 1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->header("Location"), "/acct/1");
  EXPECT_EQ(r->all_headers("Link"),
            (std::vector<std::string>{"<a>;rel=\"up\"", "<b>;rel=\"alternate\""}));
  EXPECT_EQ(server.accepted(), 1u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].rfind("HEAD /nonce HTTP/1.1\r\n", 0), 0u) << requests[0];
  EXPECT_EQ(requests[0].find("Content-Length"), std::string::npos) << requests[0];
  EXPECT_EQ(requests[1].rfind("POST /new-acct HTTP/1.1\r\n", 0), 0u) << requests[1];
  EXPECT_NE(requests[1].find("Content-Type: application/jose+json\r\n"), std::string::npos);
  HttpRequest bad;
  bad.method = "DELETE";
  bad.target = "/x";
  EXPECT_EQ(session.request(bad, in(Ms(5000)), 1024).error().message(),
            "http://127.0.0.1:" + std::to_string(server.port()) +
                ": send: method \"DELETE\" is not GET, HEAD or POST");
}

TEST(HttpsSessionTest, AKeptConnectionTheServerClosedIsReplacedOnce) {
  // One answer per connection, then close: the second post finds the kept
  // connection closed and makes a new one.
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) c.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  });
  auto session = plain_session(server.port());
  for (int i = 0; i < 3; ++i) {
    auto r = session.post("/x", "", in(Ms(5000)), 1024);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "x");
    ASSERT_TRUE(server.wait_for_finished(i + 1, Ms(5000)));
  }
  EXPECT_EQ(server.accepted(), 3u);
}

TEST(HttpsSessionTest, NonOkStatusesAreReturnedWithTheirBody) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) {
      c.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 14\r\n\r\n{\"code\":3,\"x\"}");
    }
  });
  auto session = plain_session(server.port());
  auto r = session.post("/x", "", in(Ms(5000)), 1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "{\"code\":3,\"x\"}");
}

TEST(HttpsSessionTest, ASilentServerEndsAtTheDeadline) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    c.read_request();
    c.wait_client_close();
  });
  auto session = plain_session(server.port());
  auto t0 = Clock::now();
  auto r = session.post("/x", "", in(Ms(300)), 1024);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "http://127.0.0.1:" + std::to_string(server.port()) +
                                     ": read: no complete answer before the deadline");
  EXPECT_GE(took, Ms(290));
  EXPECT_LT(took, Ms(2000));
}

TEST(HttpsSessionTest, ABodyAboveTheLimitIsAnError) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
    }
  });
  auto session = plain_session(server.port());
  auto r = session.post("/x", "", in(Ms(5000)), 10);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("read: the response body is larger than this client takes"),
            std::string::npos)
      << r.error().message();
}

TEST(HttpsSessionTest, StreamPassesChunksOnAsTheyComeAndStopsAtOnce) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n");
    if (!c.pause(Ms(50))) return;
    c.send("3\r\nlin\r\n");
    c.send("3\r\ne2\n\r\n");
    c.wait_client_close();  // then silence until the client stops
  });
  auto session = plain_session(server.port());
  std::stop_source stop;
  std::string seen;
  Clock::time_point stop_at;
  std::jthread stopper;
  auto s = session.stream(
      "/v3/watch", "{}", in(Ms(5000)),
      [&](std::string_view data) -> util::Status {
        seen += data;
        if (seen == "line1\nline2\n") {
          stopper = std::jthread([&] {
            std::this_thread::yield();
            stop_at = Clock::now();
            stop.request_stop();
          });
        }
        return {};
      },
      stop.get_token());
  auto returned = Clock::now();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(seen, "line1\nline2\n");
  stopper.join();
  EXPECT_LT(returned - stop_at, Ms(200));
  EXPECT_FALSE(session.connected());
}

TEST(HttpsSessionTest, StreamStopsWhileWaitingForTheHeader) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    c.read_request();
    c.wait_client_close();
  });
  auto session = plain_session(server.port());
  std::stop_source stop;
  std::jthread stopper([&] {
    if (server.wait_for_requests(1, Ms(5000))) stop.request_stop();
  });
  auto t0 = Clock::now();
  auto s = session.stream(
      "/v3/watch", "{}", in(Ms(10000)), [](std::string_view) -> util::Status { return {}; },
      stop.get_token());
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(stop.stop_requested());
  EXPECT_LT(Clock::now() - t0, Ms(2000));  // not the 10 s deadline
}

TEST(HttpsSessionTest, StreamWithANonOkStatusFailsWithTheBody) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) {
      c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nno leader");
    }
  });
  auto session = plain_session(server.port());
  auto s = session.stream(
      "/v3/watch", "{}", in(Ms(5000)), [](std::string_view) -> util::Status { return {}; },
      std::stop_token());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "http://127.0.0.1:" + std::to_string(server.port()) +
                                     ": status: HTTP 503 to POST /v3/watch: \"no leader\"");
}

TEST(HttpsSessionTest, StreamEndsWhenTheHandlerFails) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\n\r\n");
    c.wait_client_close();
  });
  auto session = plain_session(server.port());
  auto s = session.stream(
      "/v3/watch", "{}", in(Ms(5000)),
      [](std::string_view) -> util::Status { return util::fail("canceled by etcd"); },
      std::stop_token());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "canceled by etcd");
}

TEST(HttpsSessionTest, ARequestTargetWithControlsIsRefused) {
  ScriptedServer server([](ScriptedServer::Connection& c) { c.wait_client_close(); });
  auto session = plain_session(server.port());
  auto r = session.post("/x HTTP/1.1\r\nX: y", "", in(Ms(5000)), 10);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not a request target"), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::net
