#include "acme/http_responder.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "config/value_parsers.h"
#include "net/https_session.h"
#include "util/strings.h"

namespace tlsgate::acme {

namespace {

namespace http = boost::beast::http;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxRequest = 4096;
constexpr auto kConnectionTime = std::chrono::seconds(5);
constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

struct Connection {
  util::Fd fd;
  SteadyClock::time_point deadline;
  std::string in;   // request bytes, at most kMaxRequest
  std::string out;  // response bytes not written yet
  bool answering = false;
};

std::string response(int status, std::string_view reason, std::string_view body, bool head) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: "
      "close\r\n\r\n{}",
      status, reason, body.size(), head ? std::string_view() : body);
}

}  // namespace

util::Result<std::unique_ptr<HttpResponder>> HttpResponder::start(
    const std::string& listen_address) {
  auto where = "acme_http_address " + net::quoted_peer_text(listen_address);
  // Port 0 (any free port, for tests) is not a config value; parse it as 1.
  bool any_port = listen_address.ends_with(":0");
  auto address = config::parse_address(
      any_port ? listen_address.substr(0, listen_address.size() - 1) + "1" : listen_address);
  if (!address) {
    return util::fail(where + ": " + address.error().problem + "; " + address.error().fix);
  }
  if (any_port) address->port = 0;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string host = address->host;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                         std::to_string(address->port).c_str(), &hints, &found);
  if (rc != 0) return util::fail(where + ": cannot resolve: " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  util::Fd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd.get(), 64) != 0) {
    return util::fail(where + ": cannot listen: " + util::errno_text(errno) +
                      " (another program on that port? HTTP-01 needs the CA to reach port 80 "
                      "there, directly or forwarded)");
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  uint16_t port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  util::Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return util::fail(where + ": eventfd: " + util::errno_text(errno));
  std::unique_ptr<HttpResponder> responder(new HttpResponder(std::move(fd), std::move(wake), port));
  responder->thread_ = std::thread([r = responder.get()] { r->run(); });
  return responder;
}

HttpResponder::HttpResponder(util::Fd listener, util::Fd wake, uint16_t port)
    : listener_(std::move(listener)), wake_(std::move(wake)), port_(port) {}

HttpResponder::~HttpResponder() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

util::Status HttpResponder::publish(ChallengeKind kind, const std::string& /*identifier*/,
                                    const std::string& token,
                                    const std::string& key_authorization) {
  if (kind != ChallengeKind::kHttp01) {
    return util::fail("the HTTP-01 responder cannot answer a " + std::string(challenge_type(kind)) +
                      " challenge");
  }
  util::MutexLock lock(mu_);
  answers_[token] = key_authorization;
  return {};
}

void HttpResponder::withdraw(ChallengeKind /*kind*/, const std::string& /*identifier*/,
                             const std::string& token) {
  util::MutexLock lock(mu_);
  answers_.erase(token);
}

size_t HttpResponder::answered() const {
  util::MutexLock lock(mu_);
  return answered_;
}

std::string HttpResponder::respond(const std::string& request) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<uint32_t>(kMaxRequest));
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(request.data(), request.size()), ec);
  if (ec || !parser.is_header_done()) return "";
  const auto& req = parser.get();
  bool head = req.method() == http::verb::head;
  if (req.method() != http::verb::get && !head) {
    return response(405, "Method Not Allowed", "only GET\n", head);
  }
  std::string_view target(req.target().data(), req.target().size());
  if (target.starts_with(kPrefix)) {
    std::string token(target.substr(kPrefix.size()));
    std::string key_authorization;
    {
      util::MutexLock lock(mu_);
      auto it = answers_.find(token);
      if (it != answers_.end()) {
        ++answered_;
        key_authorization = it->second;
      }
    }
    if (!key_authorization.empty()) {
      // The token is one published here, not text of the peer's choosing.
      spdlog::info("acme: HTTP-01 responder on port {} answered the challenge of token {}", port_,
                   token);
      return response(200, "OK", key_authorization, head);
    }
  }
  return response(404, "Not Found", "no such challenge\n", head);
}

void HttpResponder::run() {
  std::vector<Connection> conns;
  while (true) {  // until wake_ fires; each pass waits at most until the next deadline
    std::vector<pollfd> fds;
    fds.push_back({wake_.get(), POLLIN, 0});
    bool room = conns.size() < kMaxConnections;
    fds.push_back({listener_.get(), static_cast<short>(room ? POLLIN : 0), 0});
    auto now = SteadyClock::now();
    auto next = now + std::chrono::seconds(60);
    for (auto& c : conns) {
      fds.push_back({c.fd.get(), static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
      next = std::min(next, c.deadline);
    }
    int timeout = static_cast<int>(
        std::chrono::ceil<std::chrono::milliseconds>(std::max(next - now, SteadyClock::duration{}))
            .count());
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("acme: HTTP-01 responder on port {}: poll: {}", port_, util::errno_text(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    now = SteadyClock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      auto& c = conns[i];
      short revents = fds[i + 2].revents;
      bool done = now >= c.deadline;
      if (!done && !c.answering && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[1024];
        ssize_t got = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (got <= 0) {
          done = got == 0 || (errno != EAGAIN && errno != EINTR);
        } else {
          c.in.append(buf, static_cast<size_t>(got));
          if (c.in.find("\r\n\r\n") != std::string::npos || c.in.size() >= kMaxRequest) {
            c.out = respond(c.in.substr(0, kMaxRequest));
            c.in.clear();
            c.answering = true;
            done = c.out.empty();
          }
        }
      } else if (!done && c.answering && (revents & (POLLOUT | POLLHUP | POLLERR)) != 0) {
        ssize_t sent = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (sent > 0) c.out.erase(0, static_cast<size_t>(sent));
        done = c.out.empty() || (sent < 0 && errno != EAGAIN && errno != EINTR);
      }
      if (done) c.fd.reset();
    }
    std::erase_if(conns, [](const Connection& c) { return !c.fd.valid(); });
    if (room && (fds[1].revents & POLLIN) != 0) {
      for (size_t k = conns.size(); k < kMaxConnections; ++k) {  // accept what is waiting
        util::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd.valid()) break;
        conns.push_back({std::move(fd), SteadyClock::now() + kConnectionTime, {}, {}, false});
      }
    }
  }
}

}  // namespace tlsgate::acme
