#include "net/https_session.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <limits>
#include <optional>

#include <openssl/err.h>

#include <fmt/format.h>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/stream.h"
#include "pki/openssl_error.h"
#include "tls/handshake_error.h"
#include "tls/peer_identity.h"
#include "tls/server_name.h"
#include "util/fd.h"
#include "util/http_url.h"
#include "util/strings.h"

namespace tlsgate::net {

namespace http = boost::beast::http;
// post() keeps the body (bounded by body_limit); stream() hands it on
// from a fixed buffer, so nothing it holds grows with the stream, nor with
// a Content-Length (string_body reserves that much up front).
using WholeParser = http::response_parser<http::string_body>;
using StreamParser = http::response_parser<http::buffer_body>;

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeader = size_t{16} * 1024;
constexpr size_t kMaxErrorBody = size_t{8} * 1024;  // of a non-2xx reply to stream()
constexpr size_t kReadChunk = size_t{16} * 1024;

bool is_2xx(int status) { return status >= 200 && status < 300; }

// dial() that also gives up when stop_fd becomes readable (a watch asked
// to stop while etcd does not answer). The resolver is not interruptible.
util::Result<util::Fd> dial_until(const BaseUrl& url, Deadline deadline, int stop_fd) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? util::errno_text(errno) : ::gai_strerror(rc);
    return util::fail(fmt::format("{}: resolve: {}", url.text, why));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  std::string last = "it has no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    auto c = start_connect(a->ai_addr, a->ai_addrlen);
    if (c.error == EINPROGRESS) {
      pollfd p[2] = {{c.fd.get(), POLLOUT, 0}, {stop_fd, POLLIN, 0}};
      while (true) {  // bounded by the deadline
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
          return util::fail(fmt::format("{}: connect: no answer before the deadline", url.text));
        }
        int n = ::poll(p, stop_fd >= 0 ? 2 : 1,
                       static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
        if (n < 0 && errno == EINTR) continue;
        if (stop_fd >= 0 && p[1].revents != 0) {
          return util::fail(fmt::format("{}: connect: stopped", url.text));
        }
        if (n != 0) break;
      }
      c.error = connect_result(c.fd.get());
    }
    if (c.error == 0) {
      int one = 1;
      // Keep-alive probes end a stream to a server that vanished without a
      // word (a partition, a powered-off host) within about a minute.
      ::setsockopt(c.fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      int idle = 30, interval = 10, count = 3;
      ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
      ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
      return std::move(c.fd);
    }
    last = util::errno_text(c.error);
  }
  return util::fail(fmt::format("{}: connect: {}", url.text, last));
}

}  // namespace

util::Result<BaseUrl> parse_base_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return util::fail(
        fmt::format("{} is not a base URL: {}; write https://HOST:PORT or "
                    "http://HOST:PORT",
                    quoted_peer_text(text), why));
  };
  BaseUrl url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    return bad("it starts with neither https:// nor http://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("it has a path");
  // The http:// parser knows hosts, IPv6 brackets and ports; the scheme
  // only changes the default port.
  auto parsed = util::parse_http_url("http://" + std::string(rest) + "/");
  if (!parsed) return bad(parsed.error().message());
  auto colon = rest.rfind(':');
  auto bracket = rest.rfind(']');
  bool explicit_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  url.host = parsed->host;
  url.port = explicit_port ? parsed->port : (url.tls ? 443 : 80);
  bool v6 = url.host.find(':') != std::string::npos;
  url.text = fmt::format("{}://{}{}{}:{}", url.tls ? "https" : "http", v6 ? "[" : "", url.host,
                         v6 ? "]" : "", url.port);
  return url;
}

util::Result<std::shared_ptr<const tls::Context>> bundle_client_context(
    const std::filesystem::path& ca_bundle) {
  auto ctx = std::make_shared<tls::Context>();
  ctx->side = tls::Side::kClient;
  ctx->policy.scope = "acme";
  ctx->policy.verify_hostname = true;
  pki::clear_openssl_errors();
  ctx->ssl_ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx->ssl_ctx) return util::fail(pki::openssl_error("cannot make a TLS client context"));
  SSL_CTX* ssl = ctx->ssl_ctx.get();
  SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
  if (ca_bundle.empty()) {
    if (SSL_CTX_set_default_verify_paths(ssl) != 1) {
      return util::fail(pki::openssl_error("cannot load the system's trusted CAs"));
    }
  } else if (SSL_CTX_load_verify_file(ssl, ca_bundle.c_str()) != 1) {
    return util::fail(pki::openssl_error("CA bundle " + ca_bundle.string() +
                                         ": no PEM CA certificate could be loaded from it"));
  }
  SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return std::shared_ptr<const tls::Context>(std::move(ctx));
}

struct HttpsSession::Link {
  explicit Link(util::Fd s) : socket(std::move(s)), stream(socket.get()) {}
  ~Link() {
    stream.detach();  // before the socket closes
  }
  util::Fd socket;  // before the stream, which works on it
  Stream stream;
  std::shared_ptr<const tls::Context> ctx;  // TLS: the snapshot it was made with
  std::string pending;                      // bytes read, not parsed yet
  bool used = false;                        // a request went over it before
  bool answered = false;                    // the server sent a byte of HTTP on it
};

HttpsSession::HttpsSession(BaseUrl url, ClientContextSource tls_context)
    : url_(std::move(url)), tls_context_(std::move(tls_context)) {}

HttpsSession::~HttpsSession() { close(); }

bool HttpsSession::connected() const { return link_ != nullptr; }

void HttpsSession::close() {
  if (!link_) return;
  link_->stream.shutdown_write(false);
  link_.reset();
  pki::clear_openssl_errors();
}

util::Error HttpsSession::link_error(std::string_view step, std::string_view what) {
  // A TLS failure (an alert, a bad record) explains itself better than errno.
  if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    pki::clear_openssl_errors();
    return util::Error(
        fmt::format("{}: {}: the server closed the connection{}", url_.text, step, refusal_hint()));
  }
  if (link_ && link_->stream.is_tls() && ERR_peek_error() != 0) {
    return util::Error(
        fmt::format("{}: {}: {}", url_.text, step,
                    tls::explain_handshake_failure(link_->stream.ssl(), *link_->ctx, url_.text)));
  }
  pki::clear_openssl_errors();
  return util::Error(fmt::format("{}: {}: {}{}", url_.text, step, what, refusal_hint()));
}

std::string HttpsSession::refusal_hint() const {
  // Under TLS 1.3 the client's handshake ends before the server has checked
  // our certificate; a server that refuses it sends an alert and closes,
  // and when its reset overtakes the alert, a closed connection is all we see.
  if (!link_ || !link_->stream.is_tls() || link_->answered || !link_->ctx->certificate ||
      SSL_version(link_->stream.ssl()) != TLS1_3_VERSION) {
    return "";
  }
  return fmt::format(
      " right after the TLS handshake, as a server does when it refuses our client certificate "
      "({}, issuer {}): check that the server trusts that issuer",
      link_->ctx->certificate->subject, link_->ctx->certificate->issuer);
}

HttpsSession::Wait HttpsSession::wait(int want, Deadline deadline, int stop_fd) {
  pollfd p[2] = {{link_->stream.fd(), static_cast<short>(want), 0}, {stop_fd, POLLIN, 0}};
  while (true) {  // bounded by the deadline, or by stop when there is none
    int timeout = -1;
    if (deadline != Deadline::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Wait::kTimeout;
      timeout = static_cast<int>(std::min<int64_t>(left.count(), INT_MAX));
    }
    int rc = ::poll(p, stop_fd >= 0 ? 2 : 1, timeout);
    if (rc < 0 && errno == EINTR) continue;
    if (stop_fd >= 0 && p[1].revents != 0) return Wait::kStopped;
    // Ready, or an error on the fd: either way the next call reports it.
    if (rc != 0) return Wait::kReady;
  }
}

util::Status HttpsSession::connect(Deadline deadline) { return connect_link(deadline, -1); }

util::Status HttpsSession::connect_link(Deadline deadline, int stop_fd) {
  if (link_) return {};
  auto socket = dial_until(url_, deadline, stop_fd);
  if (!socket) return util::fail(socket.error());
  auto link = std::make_unique<Link>(std::move(*socket));
  if (url_.tls) {
    link->ctx = tls_context_ ? tls_context_() : nullptr;
    if (!link->ctx) {
      return util::fail(
          fmt::format("{}: TLS handshake: no client TLS context is loaded", url_.text));
    }
    pki::clear_openssl_errors();
    tls::SslPtr ssl(SSL_new(link->ctx->ssl_ctx.get()));
    if (!ssl) return util::fail(pki::openssl_error(url_.text + ": TLS handshake: SSL_new"));
    SSL_set_connect_state(ssl.get());
    if (!tls::set_expected_name(ssl.get(), url_.host, link->ctx->policy.verify_hostname)) {
      return util::fail(
          fmt::format("{}: TLS handshake: OpenSSL refused \"{}\" as the name to "
                      "check",
                      url_.text, url_.host));
    }
    if (!link->stream.attach_tls(std::move(ssl))) {
      return util::fail(pki::openssl_error(url_.text + ": TLS handshake: BIO_new"));
    }
    link_ = std::move(link);
    while (true) {  // bounded by the deadline
      auto r = link_->stream.handshake();
      if (r.status == Io::kOk) break;
      if (r.status != Io::kWantRead && r.status != Io::kWantWrite) {
        auto error = util::Error(fmt::format(
            "{}: TLS handshake: {}", url_.text,
            tls::explain_handshake_failure(link_->stream.ssl(), *link_->ctx, url_.text)));
        link_.reset();
        return util::fail(std::move(error));
      }
      int want = r.status == Io::kWantWrite ? POLLOUT : POLLIN;
      if (wait(want, deadline, stop_fd) != Wait::kReady) {
        link_.reset();
        return util::fail(
            fmt::format("{}: TLS handshake: not finished before the deadline", url_.text));
      }
    }
    auto peer = tls::check_peer(link_->stream.ssl(), *link_->ctx);
    if (!peer) {
      link_.reset();
      return util::fail(fmt::format("{}: TLS handshake: {}", url_.text, peer.error().message()));
    }
    return {};
  }
  link_ = std::move(link);
  return {};
}

std::string HttpReply::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (util::iequals(n, name)) return v;
  }
  return "";
}

std::vector<std::string> HttpReply::all_headers(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (util::iequals(n, name)) out.push_back(v);
  }
  return out;
}

util::Status HttpsSession::send_request(const HttpRequest& req, Deadline deadline) {
  std::string_view target = req.target;
  if (!target.starts_with('/') ||
      std::any_of(target.begin(), target.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
    return util::fail(
        fmt::format("{}: send: {} is not a request target (a path without spaces "
                    "or control characters)",
                    url_.text, quoted_peer_text(target)));
  }
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
    return util::fail(fmt::format("{}: send: method {} is not GET, HEAD or POST", url_.text,
                                  quoted_peer_text(req.method)));
  }
  auto header_safe = [](std::string_view v) {
    return std::none_of(v.begin(), v.end(), [](char c) { return c < ' ' || c == 0x7f; });
  };
  if (!header_safe(req.content_type) || !header_safe(req.accept)) {
    return util::fail(fmt::format("{}: send: a header value has control characters", url_.text));
  }
  bool v6 = url_.host.find(':') != std::string::npos;
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: {}{}{}:{}\r\n", req.method, target,
                                    v6 ? "[" : "", url_.host, v6 ? "]" : "", url_.port);
  if (!req.content_type.empty()) request += fmt::format("Content-Type: {}\r\n", req.content_type);
  if (!req.accept.empty()) request += fmt::format("Accept: {}\r\n", req.accept);
  request += "User-Agent: tlsgate\r\n";
  if (req.method == "POST" || !req.body.empty()) {
    request += fmt::format("Content-Length: {}\r\n", req.body.size());
  }
  request += "\r\n";
  request += req.body;
  size_t done = 0;
  while (done < request.size()) {  // bounded by the deadline: each pass writes or waits
    auto r = link_->stream.write(request.data() + done, request.size() - done);
    if (r.status == Io::kOk) {
      done += r.bytes;
    } else if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
      if (wait(r.status == Io::kWantRead ? POLLIN : POLLOUT, deadline, -1) != Wait::kReady) {
        return util::fail(link_error("send", "the server took no data before the deadline"));
      }
    } else {
      // The server may have said why before it closed (an alert): read it.
      char scrap[256];
      if (link_->stream.is_tls()) link_->stream.read(scrap, sizeof scrap);
      return util::fail(link_error("send", "the server closed the connection"));
    }
  }
  link_->used = true;
  return {};
}

template <class Parser>
util::Result<bool> HttpsSession::read_response(Parser& parser, Deadline& deadline, int stop_fd,
                                               bool* got_bytes,
                                               const std::function<void()>& before_put,
                                               const std::function<util::Status()>& after_put) {
  std::string& pending = link_->pending;
  char buffer[kReadChunk];
  while (true) {  // bounded by the deadline (or by stop_fd): each pass parses, reads or waits
    while (!pending.empty() && !parser.is_done()) {
      boost::beast::error_code ec;
      if (before_put) before_put();
      size_t n = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
      pending.erase(0, n);
      // need_more may come after a step that took bytes (a chunk's data
      // without the next chunk's header): those go to after_put first.
      // need_buffer: stream()'s buffer is full; after_put empties it.
      bool need_more = ec == http::error::need_more;
      if (need_more || ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        return util::fail(link_error("read", "the response body is larger than this client takes"));
      }
      if (ec == http::error::header_limit) {
        return util::fail(
            link_error("read", "the response header is larger than this client takes"));
      }
      if (ec) return util::fail(link_error("read", "not HTTP/1.1: " + ec.message()));
      if (after_put) {
        if (auto s = after_put(); !s) return util::fail(s.error());
      }
      if (need_more || n == 0) break;
    }
    if (parser.is_done()) return false;
    auto r = link_->stream.read(buffer, sizeof buffer);
    if (r.status == Io::kOk) {
      *got_bytes = true;
      link_->answered = true;
      pending.append(buffer, r.bytes);
      continue;
    }
    if (r.status == Io::kWantRead || r.status == Io::kWantWrite) {
      switch (wait(r.status == Io::kWantWrite ? POLLOUT : POLLIN, deadline, stop_fd)) {
        case Wait::kReady:
          continue;
        case Wait::kStopped:
          return true;
        case Wait::kTimeout:
          return util::fail(link_error("read", "no complete answer before the deadline"));
      }
    }
    if (r.status == Io::kEof) {
      boost::beast::error_code ec;
      // Beast takes an end before the first byte for a whole (empty) message.
      if (before_put) before_put();
      if (parser.got_some()) parser.put_eof(ec);
      if (parser.got_some() && !ec) {
        if (after_put) {
          if (auto s = after_put(); !s) return util::fail(s.error());
        }
        return false;
      }
      return util::fail(link_error("read", *got_bytes ? "the server closed the connection in the "
                                                        "middle of its answer"
                                                      : "the server closed the connection"));
    }
    int err = errno;
    return util::fail(
        link_error("read", err != 0 ? util::errno_text(err) : "the connection broke"));
  }
}

util::Result<HttpReply> HttpsSession::post(std::string_view target, std::string_view body,
                                           Deadline deadline, size_t max_body) {
  HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.content_type = "application/json";
  req.body = body;
  auto reply = request(req, deadline, max_body);
  if (reply) reply->headers.clear();
  return reply;
}

util::Result<HttpReply> HttpsSession::request(const HttpRequest& req, Deadline deadline,
                                              size_t max_body) {
  for (int attempt = 0; attempt < 2; ++attempt) {  // a reused link that was closed: once more
    if (auto c = connect(deadline); !c) return util::fail(c.error());
    bool reused = link_->used;
    if (auto s = send_request(req, deadline); !s) {
      close();
      if (reused) continue;
      return util::fail(s.error());
    }
    // Not eager: Beast 1.74 checks body_limit against a Content-Length
    // only when the header is parsed apart from the body.
    WholeParser parser;
    parser.header_limit(static_cast<uint32_t>(kMaxHeader));
    parser.body_limit(static_cast<uint64_t>(max_body));
    if (req.method == "HEAD") parser.skip(true);  // a HEAD answer has no body
    bool got_bytes = false;
    auto end = read_response(parser, deadline, -1, &got_bytes, nullptr, nullptr);
    if (!end) {
      close();
      if (reused && !got_bytes) continue;
      return util::fail(end.error());
    }
    HttpReply reply{
        static_cast<int>(parser.get().result_int()), std::move(parser.get().body()), {}};
    for (const auto& field : parser.get()) {
      reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    // Bytes after the response belong to no request: the link is out of step.
    if (!parser.get().keep_alive() || !link_->pending.empty()) close();
    return reply;
  }
  return util::fail(
      fmt::format("{}: read: the server closed two connections in a row without an "
                  "answer",
                  url_.text));
}

util::Status HttpsSession::stream(std::string_view target, std::string_view body, Deadline deadline,
                                  const std::function<util::Status(std::string_view)>& on_data,
                                  const std::stop_token& stop) {
  // The stop callback only writes to an eventfd that the wait polls, so
  // nothing else is shared with the thread that asks to stop.
  util::Fd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) {
    return util::fail(
        fmt::format("{}: cannot make an eventfd: {}", url_.text, util::errno_text(errno)));
  }
  std::stop_callback on_stop(stop, [fd = stop_fd.get()] {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
  });
  struct CloseAfter {
    HttpsSession& session;
    ~CloseAfter() { session.close(); }
  } close_after{*this};
  if (stop.stop_requested()) return {};
  if (auto c = connect_link(deadline, stop_fd.get()); !c) {
    if (stop.stop_requested()) return {};
    return util::fail(c.error());
  }
  HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.content_type = "application/json";
  req.body = body;
  if (auto s = send_request(req, deadline); !s) return util::fail(s.error());
  StreamParser parser;
  parser.header_limit(static_cast<uint32_t>(kMaxHeader));
  // A watch runs for as long as it runs. (Not boost::none: Beast 1.74
  // compares a Content-Length with an empty limit as larger.)
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  char chunk[kReadChunk];
  std::string refusal;  // the body of a non-2xx answer
  bool got_bytes = false;
  auto before_put = [&] {
    auto& b = parser.get().body();
    b.data = chunk;
    b.size = sizeof chunk;
  };
  auto after_put = [&]() -> util::Status {
    if (!parser.is_header_done()) return {};
    deadline = Deadline::max();  // from now on only stop or the server ends it
    auto& message = parser.get();
    std::string_view data(chunk, sizeof chunk - message.body().size);
    message.body().size = sizeof chunk;
    if (!is_2xx(message.result_int())) {
      refusal.append(data.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, refusal.size())));
      if (refusal.size() >= kMaxErrorBody || parser.is_done()) {
        return util::fail(fmt::format("{}: status: HTTP {} to POST {}: {}", url_.text,
                                      message.result_int(), target, quoted_peer_text(refusal)));
      }
      return {};
    }
    return data.empty() ? util::Status() : on_data(data);
  };
  auto end = read_response(parser, deadline, stop_fd.get(), &got_bytes, before_put, after_put);
  if (!end) return util::fail(end.error());
  return {};  // stopped, or the server ended the body
}

}  // namespace tlsgate::net
