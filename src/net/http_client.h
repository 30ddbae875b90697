// An HTTP/1.1 client for small exchanges (OCSP POSTs, CRL GETs) that never
// blocks the thread that runs it.
//
// http_request() starts one exchange on the caller's io_context and returns
// at once: resolve (Asio's resolver thread, never the loop's), connect to
// each resolved address in turn, send the request with `Connection: close`,
// read the response through Boost.Beast's parser under a header and a body
// limit. One deadline covers all of it and ends the exchange wherever it is.
// Redirects are not followed and a non-2xx status is an error: a responder
// that answers elsewhere is misconfigured, and following it would let a
// certificate steer the gate to any address.
//
// Contract:
// - Thread: everything here runs on the io_context's thread. Call
//   http_request(), cancel() and ~HttpExchange() on that thread, or while
//   no thread runs the io_context. `done` runs on that thread from the
//   io_context's run(); never from inside http_request() or cancel().
// - `done` is called exactly once, with the response or an error, unless the
//   exchange is cancelled first; then it is never called and is destroyed
//   inside cancel(). So an owner that cancels in its destructor (dropping
//   the HttpExchange does) is never called back after it is gone.
// - io_context::stop() only pauses exchanges: run it again and they go on
//   (a deadline that passed meanwhile ends them at once). Destroy the
//   io_context with exchanges in flight and each `done` is destroyed without
//   being called, with everything the exchange held: nothing leaks, nothing
//   runs later. The io_context's destructor waits for a name lookup that is
//   under way on the resolver thread (getaddrinfo cannot be interrupted).
// - Errors are one sentence: "METHOD URL: STEP: what happened", STEP one of
//   resolve, connect, send, read, too large, deadline, status. Peer text in
//   them (a redirect's Location) is escaped and cut.
// - The concurrency cap is the caller's; an exchange holds one socket and at
//   most limits.max_header + limits.max_body + 16 KiB of buffers.
//
// Why a function and a handle rather than a client object: an exchange has
// no state worth sharing (no keep-alive, no pool: OCSP and CRL fetches are
// minutes apart), so there is nothing for an object to own but the exchange
// itself, which the handle stands for.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "util/http_url.h"
#include "util/result.h"

namespace boost::asio {
class io_context;  // the header stays free of Asio and Beast; http_client.cc pays for them
}  // namespace boost::asio

namespace tlsgate::net {

struct HttpLimits {
  std::chrono::milliseconds deadline{5000};  // the whole exchange, from http_request() on
  size_t max_header = size_t{8} * 1024;      // status line and header fields of the response
  size_t max_body = size_t{64} * 1024;       // response body, after any chunked framing
};

enum class HttpMethod { kGet, kPost };

struct HttpClientRequest {
  HttpMethod method = HttpMethod::kGet;
  util::HttpUrl url;         // from util::parse_http_url(); checked again before sending
  std::string content_type;  // the request's Content-Type; "" sends none
  std::string body;          // sent with a Content-Length (POST)
};

struct HttpResponse {
  int status = 0;            // always 2xx: other statuses are errors
  std::string content_type;  // the Content-Type header as the server sent it; "" when absent
  std::string body;          // at most HttpLimits::max_body bytes
};

using HttpDone = std::function<void(util::Result<HttpResponse>)>;

// One exchange in flight, or none. Dropping it cancels the exchange.
class [[nodiscard]] HttpExchange {
 public:
  class Impl;

  HttpExchange() = default;
  ~HttpExchange();
  HttpExchange(HttpExchange&& other) noexcept = default;
  HttpExchange& operator=(HttpExchange&& other) noexcept;
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  // Ends the exchange now (socket closed, lookups and timers cancelled) and
  // destroys `done` without calling it. No-op once `done` has been called.
  void cancel() noexcept;
  // True until `done` has been called or the exchange was cancelled.
  bool active() const;

 private:
  friend HttpExchange http_request(boost::asio::io_context&, HttpClientRequest, HttpLimits,
                                   HttpDone);
  explicit HttpExchange(std::weak_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::weak_ptr<Impl> impl_;
};

HttpExchange http_request(boost::asio::io_context& io, HttpClientRequest request, HttpLimits limits,
                          HttpDone done);

// POST body (of content_type) to url, as RFC 6960 appendix A asks for OCSP.
HttpExchange http_post(boost::asio::io_context& io, const util::HttpUrl& url,
                       std::string content_type, std::string body, HttpLimits limits,
                       HttpDone done);

HttpExchange http_get(boost::asio::io_context& io, const util::HttpUrl& url, HttpLimits limits,
                      HttpDone done);

}  // namespace tlsgate::net
