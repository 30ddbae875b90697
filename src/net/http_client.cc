// The one translation unit that includes Boost.Beast: its HTTP templates
// cost seconds to compile, and nothing else needs them.
#include "net/http_client.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "net/endpoint_text.h"
#include "util/peer_text.h"

namespace tlsgate::net {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Room in the read buffer beyond the header limit, for the chunk-size lines
// and body bytes the parser has not taken yet.
constexpr size_t kReadSlack = size_t{16} * 1024;

// The status code with its standard reason phrase (not the server's: that is peer text).
std::string status_text(unsigned status) {
  auto reason = http::obsolete_reason(http::int_to_status(status));
  if (reason.empty() || reason.front() == '<') return std::to_string(status);
  return fmt::format("{} {}", status, std::string_view(reason.data(), reason.size()));
}

// What a hand-built HttpClientRequest may not hold: anything parse_http_url would
// refuse, or a Content-Type that could end the header line.
std::string request_problem(const HttpClientRequest& request) {
  auto again = util::parse_http_url(util::to_string(request.url));
  if (!again) return again.error().message();
  if (*again != request.url)
    return "the URL is not in the form parse_http_url() gives (host lowercase, target from /)";
  for (char c : request.content_type) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) return "the Content-Type holds a control character";
  }
  return "";
}

}  // namespace

class HttpExchange::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, HttpClientRequest request, HttpLimits limits, HttpDone done)
      : io_(io),
        request_(std::move(request)),
        limits_(limits),
        done_(std::move(done)),
        // Escaped: a hand-built HttpUrl may hold anything (request_problem() refuses it).
        what_(fmt::format("{} {}", request_.method == HttpMethod::kPost ? "POST" : "GET",
                          util::escape_peer_text(util::to_string(request_.url), 2 * util::kMaxHttpUrlLength))),
        resolver_(io),
        socket_(io),
        timer_(io),
        buffer_(std::min(limits.max_header, std::numeric_limits<size_t>::max() - kReadSlack) +
                kReadSlack) {}

  void start();
  void cancel() noexcept;
  bool active() const { return !finished_; }

 private:
  enum class Phase { kResolve, kConnect, kSend, kRead };

  void on_resolved(const error_code& ec, const tcp::resolver::results_type& addresses);
  void on_connected(const error_code& ec);
  void on_sent(const error_code& ec);
  void read_more();
  void on_read(const error_code& ec, size_t bytes);
  void on_deadline(const error_code& ec);
  void on_complete();
  // Ends the exchange: nothing pending survives, no handler acts afterwards.
  void stop() noexcept;
  void fail(std::string_view step, const std::string& detail);

  asio::io_context& io_;
  HttpClientRequest request_;
  HttpLimits limits_;
  HttpDone done_;
  std::string what_;  // "POST http://host/target", the start of every error
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  http::request<http::string_body> message_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Phase phase_ = Phase::kResolve;
  tcp::endpoint connecting_to_;
  std::vector<std::string> refused_;  // "ADDRESS (why)" per address that did not answer
  size_t bytes_read_ = 0;
  bool finished_ = false;
};

void HttpExchange::Impl::start() {
  timer_.expires_after(limits_.deadline);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_deadline(ec); });
  if (auto why = request_problem(request_); !why.empty()) {
    // Never from inside http_request(): the caller may not be ready for `done` yet.
    asio::post(io_, [self = shared_from_this(), why] { self->fail("send", why); });
    return;
  }
  message_.method(request_.method == HttpMethod::kPost ? http::verb::post : http::verb::get);
  message_.target(request_.url.target);
  message_.version(11);
  message_.set(http::field::host, util::host_header(request_.url));
  message_.set(http::field::user_agent, "tlsgate");
  message_.set(http::field::connection, "close");
  if (!request_.content_type.empty())
    message_.set(http::field::content_type, request_.content_type);
  message_.body() = std::move(request_.body);
  message_.prepare_payload();
  resolver_.async_resolve(
      request_.url.host, std::to_string(request_.url.port), tcp::resolver::numeric_service,
      [self = shared_from_this()](const error_code& ec, const tcp::resolver::results_type& r) {
        self->on_resolved(ec, r);
      });
}

void HttpExchange::Impl::on_resolved(const error_code& ec,
                                     const tcp::resolver::results_type& addresses) {
  if (finished_) return;
  if (ec)
    return fail("resolve",
                fmt::format("\"{}\" does not resolve: {}", request_.url.host, ec.message()));
  if (addresses.empty())
    return fail("resolve", fmt::format("\"{}\" has no address", request_.url.host));
  phase_ = Phase::kConnect;
  asio::async_connect(
      socket_, addresses,
      // Called before each attempt with the outcome of the one before.
      [this](const error_code& previous, const tcp::endpoint& next) {
        if (previous && previous != asio::error::not_found)
          refused_.push_back(
              fmt::format("{} ({})", endpoint_text(connecting_to_), previous.message()));
        connecting_to_ = next;
        return !finished_;
      },
      [self = shared_from_this()](const error_code& e, const tcp::endpoint&) {
        self->on_connected(e);
      });
}

void HttpExchange::Impl::on_connected(const error_code& ec) {
  if (finished_) return;
  if (ec) {
    refused_.push_back(fmt::format("{} ({})", endpoint_text(connecting_to_), ec.message()));
    return fail("connect", fmt::format("no address answered: {}", fmt::join(refused_, ", ")));
  }
  phase_ = Phase::kSend;
  http::async_write(socket_, message_,
                    [self = shared_from_this()](const error_code& e, size_t) { self->on_sent(e); });
}

void HttpExchange::Impl::on_sent(const error_code& ec) {
  if (finished_) return;
  if (ec) return fail("send", fmt::format("{}: {}", endpoint_text(connecting_to_), ec.message()));
  phase_ = Phase::kRead;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(limits_.max_header, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(limits_.max_body);
  read_more();
}

void HttpExchange::Impl::read_more() {
  http::async_read_some(socket_, buffer_, *parser_,
                        [self = shared_from_this()](const error_code& ec, size_t bytes) {
                          self->on_read(ec, bytes);
                        });
}

void HttpExchange::Impl::on_read(const error_code& ec, size_t bytes) {
  if (finished_) return;
  bytes_read_ += bytes;
  if (ec == http::error::body_limit)
    return fail("too large",
                fmt::format("the response body is over the {}-byte limit", limits_.max_body));
  if (ec == http::error::header_limit ||
      (ec == http::error::buffer_overflow && !parser_->is_header_done()))
    return fail("too large",
                fmt::format("the response header is over the {}-byte limit", limits_.max_header));
  if (ec == http::error::buffer_overflow)
    return fail("too large", fmt::format("a chunk-size line of the response is over {} bytes",
                                         limits_.max_header + kReadSlack));
  if (ec == http::error::end_of_stream)
    return fail("read", "the server closed the connection without answering");
  if (ec == http::error::partial_message || ec == asio::error::eof ||
      ec == asio::error::connection_reset)
    return fail("read", fmt::format("the server closed the connection after {} bytes of the "
                                    "response, before its end",
                                    bytes_read_ + buffer_.size()));
  if (ec && ec.category() == http::make_error_code(http::error::bad_version).category())
    return fail("read", fmt::format("the answer is not an HTTP/1.1 response ({})", ec.message()));
  if (ec) return fail("read", ec.message());
  if (!parser_->is_done()) return read_more();
  on_complete();
}

void HttpExchange::Impl::on_complete() {
  auto& response = parser_->get();
  unsigned status = response.result_int();
  if (status / 100 == 3) {
    auto location = response[http::field::location];
    return fail(
        "status",
        fmt::format("the server answered {}, a redirect to {}, and redirects are not "
                    "followed: configure the URL it names",
                    status_text(status),
                    util::quoted_peer_text(std::string_view(location.data(), location.size()))));
  }
  if (status / 100 != 2)
    return fail("status", fmt::format("the server answered {}; only 2xx answers are accepted",
                                      status_text(status)));
  HttpResponse out;
  out.status = static_cast<int>(status);
  auto type = response[http::field::content_type];
  out.content_type.assign(type.data(), type.size());
  out.body = std::move(response.body());
  stop();
  if (auto done = std::exchange(done_, nullptr)) done(std::move(out));
}

void HttpExchange::Impl::on_deadline(const error_code& ec) {
  if (finished_ || ec == asio::error::operation_aborted) return;
  std::string where;
  switch (phase_) {
    case Phase::kResolve:
      where = fmt::format("resolving \"{}\"", request_.url.host);
      break;
    case Phase::kConnect:
      where = fmt::format("connecting to {}", endpoint_text(connecting_to_));
      break;
    case Phase::kSend:
      where = fmt::format("sending the request to {}", endpoint_text(connecting_to_));
      break;
    case Phase::kRead:
      where = fmt::format("reading the response ({} bytes so far)", bytes_read_ + buffer_.size());
      break;
  }
  fail("deadline",
       fmt::format("no complete answer within {} ms; it was {}", limits_.deadline.count(), where));
}

void HttpExchange::Impl::stop() noexcept {
  finished_ = true;
  error_code ignored;
  socket_.close(ignored);
  // Runs in ~HttpExchange: nothing may escape. Asio throws only for an epoll
  // that refuses to change a timer's registration, which leaves nothing to undo.
  try {
    timer_.cancel();
    resolver_.cancel();
  } catch (...) {
  }
}

void HttpExchange::Impl::fail(std::string_view step, const std::string& detail) {
  stop();
  if (auto done = std::exchange(done_, nullptr))
    done(util::fail(fmt::format("{}: {}: {}", what_, step, detail)));
}

void HttpExchange::Impl::cancel() noexcept {
  if (finished_) return;
  stop();
  // Destroyed here, before cancel() returns: whatever `done` holds goes now.
  auto done = std::exchange(done_, nullptr);
}

HttpExchange::~HttpExchange() { cancel(); }

HttpExchange& HttpExchange::operator=(HttpExchange&& other) noexcept {
  if (this != &other) {
    cancel();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void HttpExchange::cancel() noexcept {
  if (auto impl = impl_.lock()) impl->cancel();
  impl_.reset();
}

bool HttpExchange::active() const {
  auto impl = impl_.lock();
  return impl && impl->active();
}

HttpExchange http_request(asio::io_context& io, HttpClientRequest request, HttpLimits limits,
                          HttpDone done) {
  auto impl = std::make_shared<HttpExchange::Impl>(io, std::move(request), limits, std::move(done));
  impl->start();
  return HttpExchange(impl);
}

HttpExchange http_post(asio::io_context& io, const util::HttpUrl& url, std::string content_type,
                       std::string body, HttpLimits limits, HttpDone done) {
  return http_request(io, {HttpMethod::kPost, url, std::move(content_type), std::move(body)},
                      limits, std::move(done));
}

HttpExchange http_get(asio::io_context& io, const util::HttpUrl& url, HttpLimits limits,
                      HttpDone done) {
  return http_request(io, {HttpMethod::kGet, url, "", ""}, limits, std::move(done));
}

}  // namespace tlsgate::net
