// net::http_request against servers scripted on 127.0.0.1 (ScriptedServer):
// what a well-behaved server gets from us, and each hostile server ending
// at its own step with its own words. Timing tests measure the deadline
// (printed, for the record) and allow a bounded slack.
#include "net/http_client.h"

#include <netinet/in.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/dial.h"
#include "scripted_server.h"
#include "support/loopback.h"

namespace tlsgate::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::ScriptedServer;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// A deadline must end the exchange within this much of its time, even on a
// loaded machine or under ASan.
constexpr Millis kSlack{700};

constexpr std::string_view kOk =
    "HTTP/1.1 200 OK\r\nContent-Type: application/test\r\nContent-Length: 5\r\n\r\nhello";

struct Outcome {
  int calls = 0;
  std::optional<util::Result<HttpResponse>> result;
  Clock::time_point at;

  const HttpResponse& response() const {
    static const HttpResponse none;
    return result && *result ? **result : none;
  }
  std::string error() const {
    if (!result) return "(done not called)";
    return *result ? "(no error: status " + std::to_string((*result)->status) + ")"
                   : result->error().message();
  }
};

HttpDone recorder(const std::shared_ptr<Outcome>& outcome) {
  return [outcome](util::Result<HttpResponse> r) {
    ++outcome->calls;
    outcome->result = std::move(r);
    outcome->at = Clock::now();
  };
}

// Runs io until pred() holds or `limit` passes; false then. Returns pred()
// at once when io has run out of work (no exchange pending on it).
template <typename Pred>
bool run_until(asio::io_context& io, Pred pred, Millis limit = 10s) {
  auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() >= end) return false;
    if (io.run_one_for(20ms) == 0 && io.stopped()) return pred();
  }
  return true;
}

// Runs the handlers that are ready now, and those they make ready.
void drain(asio::io_context& io) {
  io.restart();
  for (int i = 0; i < 1000 && io.poll() > 0; ++i) {
  }
}

// Runs io until `outcome` is in, then drains the handlers left (they must
// not call done again).
void run_to_end(asio::io_context& io, const Outcome& outcome, Millis limit = 10s) {
  run_until(
      io, [&] { return outcome.calls > 0; }, limit);
  drain(io);
}

std::string local(uint16_t port, std::string_view target = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(target);
}

util::HttpUrl url(const std::string& text) {
  auto u = util::parse_http_url(text);
  if (!u) throw std::runtime_error(u.error().message());
  return *u;
}

// A script: read the request, send `response`, wait for the client to close.
ScriptedServer::Script answer(std::string response) {
  return [response = std::move(response)](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    if (c.send(response)) c.wait_client_close();
  };
}

// A script: read the request and say nothing until the client gives up.
void silent(ScriptedServer::Connection& c) {
  c.read_request();
  c.wait_client_close();
}

// One POST with `limits` to the server's root; the outcome once it is in,
// and how long it took.
struct Timed {
  std::shared_ptr<Outcome> outcome = std::make_shared<Outcome>();
  Millis took{0};
};
Timed post_to(uint16_t port, HttpLimits limits = {}) {
  asio::io_context io{1};
  Timed t;
  auto start = Clock::now();
  auto exchange = http_post(io, url(local(port)), "application/ocsp-request", "abc", limits,
                            recorder(t.outcome));
  run_to_end(io, *t.outcome, limits.deadline + 10s);
  t.took = std::chrono::duration_cast<Millis>(t.outcome->at - start);
  EXPECT_EQ(t.outcome->calls, 1);
  EXPECT_FALSE(exchange.active());
  return t;
}

// A listener on 127.0.0.1 that never accepts, its queue filled so that the
// kernel drops further SYNs: a connect there gets no answer at all.
struct StalledListener {
  StalledListener() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(fd.get(), sa, len) != 0 || ::listen(fd.get(), 0) != 0 ||
        ::getsockname(fd.get(), sa, &len) != 0)
      return;
    port = ntohs(addr.sin_port);
    for (int i = 0; i < 8; ++i) {
      auto c = start_connect(sa, len);
      stalled = c.error == EINPROGRESS &&
                !wait_ready(c.fd.get(), Io::kWantWrite, deadline_after(config::Seconds(0.2)));
      fillers.push_back(std::move(c.fd));
      if (stalled) break;
    }
  }
  util::Fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  bool stalled = false;
  std::vector<util::Fd> fillers;
};

TEST(HttpClient, PostSendsOneWellFormedRequestAndReturnsTheResponse) {
  ScriptedServer server(answer(std::string(kOk)));
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_post(io, url(local(server.port(), "/ocsp")), "application/ocsp-request",
                            std::string("\x30\x00\x01", 3), {}, recorder(outcome));
  EXPECT_EQ(outcome->calls, 0);  // never from inside http_post()
  EXPECT_TRUE(exchange.active());
  run_to_end(io, *outcome);
  ASSERT_EQ(outcome->calls, 1);
  ASSERT_TRUE(*outcome->result) << outcome->error();
  EXPECT_EQ(outcome->response().status, 200);
  EXPECT_EQ(outcome->response().content_type, "application/test");
  EXPECT_EQ(outcome->response().body, "hello");
  EXPECT_FALSE(exchange.active());

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& r = requests[0];
  EXPECT_THAT(r, StartsWith("POST /ocsp HTTP/1.1\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nContent-Type: application/ocsp-request\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nContent-Length: 3\r\n"));
  EXPECT_THAT(r, EndsWith(std::string("\r\n\r\n\x30\x00\x01", 7)));
}

TEST(HttpClient, GetSendsNoBodyAndReadsAChunkedResponse) {
  ScriptedServer server(
      answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
             "world\r\n0\r\n\r\n"));
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_get(io, url(local(server.port(), "/ca.crl?x=1")), {}, recorder(outcome));
  run_to_end(io, *outcome);
  ASSERT_EQ(outcome->calls, 1);
  ASSERT_TRUE(*outcome->result) << outcome->error();
  EXPECT_EQ(outcome->response().body, "hello world");
  EXPECT_EQ(outcome->response().content_type, "");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(server.requests()[0], StartsWith("GET /ca.crl?x=1 HTTP/1.1\r\n"));
  EXPECT_THAT(server.requests()[0], Not(HasSubstr("Content-")));
}

TEST(HttpClient, Http10BodyEndsWithTheConnection) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) c.send("HTTP/1.0 200 OK\r\nContent-Type: x/y\r\n\r\nall of it");
  });  // returning closes the connection: the end of the body
  auto t = post_to(server.port());
  ASSERT_TRUE(*t.outcome->result) << t.outcome->error();
  EXPECT_EQ(t.outcome->response().body, "all of it");
  EXPECT_EQ(t.outcome->response().content_type, "x/y");
}

TEST(HttpClient, Ipv6LiteralAndItsHostHeader) {
  std::unique_ptr<ScriptedServer> server;
  try {
    server = std::make_unique<ScriptedServer>(answer(std::string(kOk)), true);
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what() << " (no IPv6 loopback here)";
  }
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_get(io, url("http://[::1]:" + std::to_string(server->port()) + "/"), {},
                           recorder(outcome));
  run_to_end(io, *outcome);
  ASSERT_TRUE(outcome->result && *outcome->result) << outcome->error();
  EXPECT_THAT(server->requests().at(0),
              HasSubstr("\r\nHost: [::1]:" + std::to_string(server->port()) + "\r\n"));
}

TEST(HttpClient, NamesGoThroughTheResolverAndEveryAddressIsTried) {
  // localhost may resolve to ::1 first, where nothing listens: the next address answers.
  ScriptedServer server(answer(std::string(kOk)));
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_get(io, url("http://localhost:" + std::to_string(server.port()) + "/"), {},
                           recorder(outcome));
  run_to_end(io, *outcome);
  ASSERT_TRUE(outcome->result && *outcome->result) << outcome->error();
  EXPECT_THAT(server.requests().at(0),
              HasSubstr("\r\nHost: localhost:" + std::to_string(server.port()) + "\r\n"));
}

TEST(HttpClient, BodyAtTheLimitIsFineOneByteMoreIsTooLarge) {
  ScriptedServer server(answer(std::string(kOk)));
  HttpLimits limits;
  limits.max_body = 5;
  auto t = post_to(server.port(), limits);
  EXPECT_TRUE(*t.outcome->result) << t.outcome->error();
  limits.max_body = 4;
  t = post_to(server.port(), limits);
  EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                    ": too large: the response body is over the 4-byte limit");
}

TEST(HttpClient, ConnectionRefused) {
  int port = tlsgate::test::free_loopback_port();
  auto t = post_to(static_cast<uint16_t>(port));
  EXPECT_EQ(t.outcome->error(), "POST " + local(port) +
                                    ": connect: no address answered: 127.0.0.1:" +
                                    std::to_string(port) + " (Connection refused)");
}

TEST(HttpClient, NoAnswerToConnectEndsAtTheDeadline) {
  StalledListener listener;
  ASSERT_NE(listener.port, 0);
  if (!listener.stalled) GTEST_SKIP() << "this kernel answers every SYN; cannot stall a connect";
  HttpLimits limits;
  limits.deadline = 400ms;
  auto t = post_to(listener.port, limits);
  std::cout << "deadline 400 ms while connecting: ended after " << t.took.count() << " ms\n";
  EXPECT_EQ(t.outcome->error(), "POST " + local(listener.port) +
                                    ": deadline: no complete answer within 400 ms; it was "
                                    "connecting to 127.0.0.1:" +
                                    std::to_string(listener.port));
  EXPECT_GE(t.took, 400ms);
  EXPECT_LT(t.took, 400ms + kSlack);
}

TEST(HttpClient, GarbageInsteadOfHttp) {
  // Another protocol, a control character in a header: Beast's words in brackets.
  for (auto [garbage, why] : std::vector<std::pair<std::string, std::string>>{
           {"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "bad version"},
           {"HTTP/1.1 200 OK\r\nX: \x1b[31m\r\n\r\n", "bad value"},
           {"HTTP/1.1 2000 OK\r\n\r\n", "bad status"}}) {
    ScriptedServer server(answer(garbage));
    auto t = post_to(server.port());
    EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                      ": read: the answer is not an HTTP/1.1 response (" + why +
                                      ")");
  }
}

TEST(HttpClient, TlsServerAnswersWithAnAlertAndCloses) {
  const std::string alert("\x15\x03\x01\x00\x02\x02\x46", 7);  // protocol_version
  ScriptedServer server([&](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) c.send(alert);
  });
  auto t = post_to(server.port());
  EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                    ": read: the server closed the connection after 7 bytes of "
                                    "the response, before its end");
}

TEST(HttpClient, EndlessBodyStopsAtTheLimit) {
  // Without a length, with a huge length, and chunked: each ends at max_body.
  for (std::string head :
       {"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    bool chunked = head.find("chunked") != std::string::npos;
    ScriptedServer server([&](ScriptedServer::Connection& c) {
      if (c.read_request().empty() || !c.send(head)) return;
      std::string block(16384, 'x');
      if (chunked) block = "4000\r\n" + block + "\r\n";
      for (int i = 0; i < 100000 && c.send(block); ++i) {
      }
    });
    auto t = post_to(server.port());
    EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                      ": too large: the response body is over the 65536-byte limit")
        << head;
    EXPECT_LT(t.took, 5s);
  }
}

TEST(HttpClient, EndlessHeadersStopAtTheLimit) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (c.read_request().empty() || !c.send("HTTP/1.1 200 OK\r\n")) return;
    for (int i = 0; i < 100000 && c.send("X-Filler: " + std::string(100, 'a') + "\r\n"); ++i) {
    }
  });
  auto t = post_to(server.port());
  EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                    ": too large: the response header is over the 8192-byte limit");
}

TEST(HttpClient, SilentServerEndsAtTheDeadline) {
  ScriptedServer server(silent);
  HttpLimits limits;
  limits.deadline = 500ms;
  auto t = post_to(server.port(), limits);
  std::cout << "deadline 500 ms, silent server: ended after " << t.took.count() << " ms\n";
  EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                    ": deadline: no complete answer within 500 ms; it was reading "
                                    "the response (0 bytes so far)");
  EXPECT_GE(t.took, 500ms);
  EXPECT_LT(t.took, 500ms + kSlack);
}

TEST(HttpClient, SlowDripPastTheDeadlineEndsAtTheDeadline) {
  ScriptedServer server([](ScriptedServer::Connection& c) {
    if (c.read_request().empty()) return;
    for (char byte : kOk) {  // one byte per 100 ms: 7.5 s for the whole answer
      if (!c.send(std::string(1, byte)) || !c.pause(100ms)) return;
    }
  });
  HttpLimits limits;
  limits.deadline = 600ms;
  auto t = post_to(server.port(), limits);
  std::cout << "deadline 600 ms, one byte per 100 ms: ended after " << t.took.count() << " ms\n";
  EXPECT_THAT(t.outcome->error(),
              StartsWith("POST " + local(server.port()) +
                         ": deadline: no complete answer within 600 ms; it was reading the "
                         "response ("));
  EXPECT_THAT(t.outcome->error(), EndsWith(" bytes so far)"));
  EXPECT_GE(t.took, 600ms);
  EXPECT_LT(t.took, 600ms + kSlack);
}

TEST(HttpClient, ServerClosesMidBody) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  ScriptedServer server([&](ScriptedServer::Connection& c) {
    if (!c.read_request().empty()) c.send(head + "0123456789");
  });
  auto t = post_to(server.port());
  EXPECT_EQ(t.outcome->error(),
            "POST " + local(server.port()) + ": read: the server closed the connection after " +
                std::to_string(head.size() + 10) + " bytes of the response, before its end");
}

TEST(HttpClient, ServerClosesWithoutAnswering) {
  ScriptedServer server([](ScriptedServer::Connection& c) { c.read_request(); });
  auto t = post_to(server.port());
  EXPECT_EQ(t.outcome->error(), "POST " + local(server.port()) +
                                    ": read: the server closed the connection without answering");
}

TEST(HttpClient, NotFoundIsAnError) {
  ScriptedServer server(answer("HTTP/1.1 404 Nope\r\nContent-Length: 9\r\n\r\nnot here\n"));
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_get(io, url(local(server.port(), "/missing")), {}, recorder(outcome));
  run_to_end(io, *outcome);
  EXPECT_EQ(outcome->calls, 1);
  EXPECT_EQ(outcome->error(), "GET " + local(server.port(), "/missing") +
                                  ": status: the server answered 404 Not Found; only 2xx answers "
                                  "are accepted");
}

TEST(HttpClient, RedirectIsNotFollowed) {
  ScriptedServer server(
      answer("HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/\"\xff\r\n"
             "Content-Length: 0\r\n\r\n"));
  auto t = post_to(server.port());
  EXPECT_EQ(t.outcome->error(),
            "POST " + local(server.port()) +
                ": status: the server answered 302 Found, a redirect to "
                "\"http://elsewhere.example/\\x22\\xff\", and redirects are not followed: "
                "configure the URL it names");
  EXPECT_EQ(server.accepted(), 1u);  // and nothing went elsewhere
}

TEST(HttpClient, AHandBuiltUrlThatCouldInjectHeadersIsNotSent) {
  ScriptedServer server(silent);
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  util::HttpUrl bad{"127.0.0.1", server.port(), "/a\r\nX-Injected: 1"};
  auto exchange = http_post(io, bad, "application/ocsp-request", "", {}, recorder(outcome));
  EXPECT_EQ(outcome->calls, 0);  // posted, never from inside http_post()
  run_to_end(io, *outcome);
  EXPECT_EQ(outcome->calls, 1);
  EXPECT_THAT(outcome->error(),
              StartsWith("POST " + local(server.port(), "/a\\x0d\\x0aX-Injected: 1") +
                         ": send: \"http://127.0.0.1:"));
  EXPECT_THAT(outcome->error(), HasSubstr("spaces, control characters and non-ASCII bytes"));
  EXPECT_EQ(server.accepted(), 0u);
}

TEST(HttpClient, CancelEndsTheExchangeAndNeverCallsDone) {
  ScriptedServer server(silent);
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_post(io, url(local(server.port())), "a/b", "x", {}, recorder(outcome));
  ASSERT_TRUE(run_until(io, [&] { return server.requests().size() == 1; }));
  EXPECT_EQ(outcome.use_count(), 2);  // ours and done's
  exchange.cancel();
  EXPECT_EQ(outcome.use_count(), 1);  // done destroyed inside cancel()
  EXPECT_FALSE(exchange.active());
  // The aborted handlers run and call nothing; the server sees the connection closed.
  drain(io);
  EXPECT_TRUE(server.wait_for_finished(1, 5s));
  EXPECT_EQ(outcome->calls, 0);
  exchange.cancel();  // twice is fine
}

TEST(HttpClient, DroppingTheHandleCancels) {
  ScriptedServer server(silent);
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  {
    auto exchange = http_post(io, url(local(server.port())), "a/b", "x", {}, recorder(outcome));
    ASSERT_TRUE(run_until(io, [&] { return server.requests().size() == 1; }));
  }
  EXPECT_EQ(outcome.use_count(), 1);
  drain(io);
  EXPECT_TRUE(server.wait_for_finished(1, 5s));
  EXPECT_EQ(outcome->calls, 0);
}

TEST(HttpClient, DoneMayDropItsOwnHandleAndStartAnother) {
  ScriptedServer server(answer(std::string(kOk)));
  asio::io_context io{1};
  std::optional<HttpExchange> first, second;
  auto outcome = std::make_shared<Outcome>();
  first = http_get(io, url(local(server.port())), {}, [&](util::Result<HttpResponse> r) {
    EXPECT_TRUE(r) << r.error().message();
    first.reset();  // the handle of the exchange that is calling us
    second = http_get(io, url(local(server.port())), {}, recorder(outcome));
  });
  run_to_end(io, *outcome);
  EXPECT_EQ(outcome->calls, 1);
  EXPECT_TRUE(outcome->result && *outcome->result) << outcome->error();
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpClient, StopOnlyPausesRunningAgainFinishes) {
  ScriptedServer server(answer(std::string(kOk)));
  asio::io_context io{1};
  auto outcome = std::make_shared<Outcome>();
  auto exchange = http_get(io, url(local(server.port())), {}, recorder(outcome));
  ASSERT_TRUE(run_until(io, [&] { return server.requests().size() == 1; }));
  io.stop();
  EXPECT_EQ(outcome->calls, 0);
  EXPECT_TRUE(exchange.active());
  io.restart();
  run_to_end(io, *outcome);
  EXPECT_EQ(outcome->calls, 1);
  EXPECT_TRUE(outcome->result && *outcome->result) << outcome->error();
}

TEST(HttpClient, DestroyingAStoppedIoContextWithExchangesInFlightLeaksNothing) {
  // ASan (make test-asan) checks the leak and use-after-free side; the
  // use count shows every `done` was destroyed, none called.
  ScriptedServer server(silent);
  StalledListener stalled;
  auto outcome = std::make_shared<Outcome>();
  std::vector<HttpExchange> exchanges;  // outlive the io_context on purpose
  auto io = std::make_unique<asio::io_context>(1);
  for (int i = 0; i < 4; ++i)
    exchanges.push_back(http_post(*io, url(local(server.port())), "a/b", std::string(1000, 'x'), {},
                                  recorder(outcome)));
  if (stalled.stalled)
    exchanges.push_back(http_get(*io, url(local(stalled.port)), {}, recorder(outcome)));
  ASSERT_TRUE(run_until(*io, [&] { return server.requests().size() == 4; }));
  EXPECT_EQ(outcome.use_count(), 1 + static_cast<long>(exchanges.size()));
  io->stop();
  io.reset();
  EXPECT_EQ(outcome.use_count(), 1);
  EXPECT_EQ(outcome->calls, 0);
  for (auto& e : exchanges) {
    EXPECT_FALSE(e.active());
    e.cancel();  // after the io_context is gone: a no-op
  }
}

}  // namespace
}  // namespace tlsgate::net
