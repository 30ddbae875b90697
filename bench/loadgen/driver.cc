#include "driver.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include <openssl/err.h>

namespace tlsgate::bench {
namespace {

constexpr int kStepsPerEvent = 64;
constexpr int kReadsPerStep = 64;
constexpr size_t kScratch = size_t{64} * 1024;
constexpr uint64_t kMaxWait = 100 * kMilli;  // re-check finished() at least this often
constexpr int kErrorsShown = 5;

int conn_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

ClientOptions client_options(const Args& args, long default_concurrency) {
  ClientOptions o;
  o.host = args.str("host", "127.0.0.1");
  long port = args.num("port", 0);
  if (port <= 0 || port > 65535) die("--port: 1..65535 is required");
  o.port = static_cast<uint16_t>(port);
  o.ca = args.str("ca", "");
  o.sni = args.str("sni", "localhost");
  long c = args.num("concurrency", default_concurrency);
  if (c < 1 || c > 100000) die("--concurrency: 1..100000");
  o.concurrency = static_cast<size_t>(c);
  return o;
}

std::vector<std::string> client_option_names(std::vector<std::string> more) {
  for (const char* n : {"host", "port", "ca", "sni", "concurrency"}) more.emplace_back(n);
  return more;
}

Driver::Driver(const ClientOptions& options, SSL_CTX* ctx)
    : options_(options), conns_(options.concurrency), ctx_(ctx), scratch_(kScratch) {
  for (size_t i = 0; i < conns_.size(); ++i) conns_[i].slot = i;
  if (options_.resume) {
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &Driver::on_new_session);
  }
}

Driver::~Driver() {
  for (auto& c : conns_) {
    if (c.phase != Conn::Phase::kFree) {
      SSL_free(c.ssl);
      ::close(c.fd);
    }
    SSL_SESSION_free(c.session);
  }
}

int Driver::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* c = static_cast<Conn*>(SSL_get_ex_data(ssl, conn_index()));
  if (c == nullptr) return 0;
  SSL_SESSION_free(c->session);
  c->session = session;
  return 1;  // we keep the reference
}

void Driver::start() {
  for (auto& c : conns_) open(c);
}

void Driver::run(uint64_t hard_deadline) {
  start();
  while (!finished()) {
    uint64_t now = now_ns();
    if (now >= hard_deadline) {
      timed_out_ = true;
      break;
    }
    uint64_t until = std::min(next_tick(), hard_deadline);
    uint64_t timeout = ready_.empty() && until > now ? std::min(until - now, kMaxWait) : 0;
    int n = poller_.wait(timeout);
    for (int i = 0; i < n; ++i) {
      uint64_t token = poller_.token(i);
      size_t slot = token & 0xffffffff;
      if (slot >= conns_.size()) continue;
      Conn& c = conns_[slot];
      if (c.phase == Conn::Phase::kFree || c.gen != static_cast<uint32_t>(token >> 32)) continue;
      drive(c);
    }
    size_t queued = ready_.size();
    for (size_t i = 0; i < queued; ++i) {
      Conn& c = conns_[ready_.front()];
      ready_.pop_front();
      c.queued = false;
      if (c.phase != Conn::Phase::kFree) drive(c);
    }
    now = now_ns();
    if (next_tick() <= now) on_tick(now);
  }
  for (auto& c : conns_) {
    if (c.phase == Conn::Phase::kFree) continue;
    SSL_free(c.ssl);
    ::close(c.fd);
    c.ssl = nullptr;
    c.fd = -1;
    c.phase = Conn::Phase::kFree;
    --active_;
  }
}

void Driver::open(Conn& c) {
  if (stopping_ || c.phase != Conn::Phase::kFree) return;
  bool connected = false;
  c.t_connect = now_ns();
  int fd = connect_tcp(options_.host, port_for(c), &connected);
  if (fd < 0) {
    ++failures_;
    std::string why = std::string("connect: ") + std::strerror(errno);  // NOLINT
    if (first_error_.empty()) first_error_ = why;
    if (!options_.quiet && failures_ <= kErrorsShown)
      std::cerr << "tlsgate-loadgen: " << why << std::endl;
    close_reason_ = why;
    on_open_failed(c);
    return;
  }
  c.fd = fd;
  c.ssl = nullptr;
  c.phase = Conn::Phase::kConnecting;
  c.out = nullptr;
  c.out_len = c.out_off = c.in_want = c.in_got = 0;
  c.sent_at = c.next_send = 0;
  c.held = false;
  c.bytes = 0;
  ++active_;
  poller_.add(fd, (uint64_t{c.gen} << 32) | c.slot);
  if (connected) wake(c);
}

void Driver::close(Conn& c, bool ok, const std::string& why) {
  if (c.phase == Conn::Phase::kFree) return;
  if (!ok) {
    ++failures_;
    if (first_error_.empty()) first_error_ = why;
    if (!options_.quiet && failures_ <= kErrorsShown)
      std::cerr << "tlsgate-loadgen: " << why << std::endl;
  }
  if (c.ssl != nullptr) {
    if (ok) SSL_shutdown(c.ssl);  // our close_notify; the peer's is not awaited
    SSL_free(c.ssl);
    c.ssl = nullptr;
  }
  ERR_clear_error();
  ::close(c.fd);
  c.fd = -1;
  ++c.gen;
  c.phase = Conn::Phase::kFree;
  --active_;
  close_reason_ = ok ? std::string() : why;
  on_closed(c, ok);
}

void Driver::wake(Conn& c) {
  if (c.queued) return;
  c.queued = true;
  ready_.push_back(c.slot);
}

App Driver::ssl_status(Conn& c, int rc, const char* what) {
  int err = SSL_get_error(c.ssl, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return App::kBlocked;
  if (err == SSL_ERROR_ZERO_RETURN) {
    last_error_ = std::string(what) + ": the server closed the connection (close_notify)";
  } else if (err == SSL_ERROR_SYSCALL) {
    last_error_ =
        std::string(what) + ": " +
        (errno != 0 ? std::strerror(errno) : "the server closed the connection");  // NOLINT
  } else {
    last_error_ = std::string(what) + ": " + openssl_errors();
  }
  return App::kFailed;
}

void Driver::drive(Conn& c) {
  for (int step = 0; step < kStepsPerEvent; ++step) {
    switch (c.phase) {
      case Conn::Phase::kFree:
        return;
      case Conn::Phase::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          return close(c, false, std::string("connect: ") + std::strerror(err));  // NOLINT
        }
        if (c.raw) {
          c.phase = Conn::Phase::kApp;
          on_established(c);
          break;
        }
        c.ssl = SSL_new(ctx_);
        if (c.ssl == nullptr) return close(c, false, "SSL_new: " + openssl_errors());
        SSL_set_fd(c.ssl, c.fd);
        // SSL_set_tlsext_host_name, without the macro's C cast.
        SSL_ctrl(c.ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(options_.sni.c_str()));
        if (!options_.ca.empty()) SSL_set1_host(c.ssl, options_.sni.c_str());
        SSL_set_ex_data(c.ssl, conn_index(), &c);
        if (options_.resume && c.session != nullptr) SSL_set_session(c.ssl, c.session);
        SSL_set_connect_state(c.ssl);
        c.phase = Conn::Phase::kHandshaking;
        break;
      }
      case Conn::Phase::kHandshaking: {
        ERR_clear_error();
        int rc = SSL_do_handshake(c.ssl);
        if (rc != 1) {
          if (ssl_status(c, rc, "TLS handshake") == App::kBlocked) return;
          return close(c, false, last_error_);
        }
        c.t_handshake = now_ns();
        ++handshakes_;
        if (SSL_session_reused(c.ssl) == 1) ++resumed_;
        c.phase = Conn::Phase::kApp;
        on_handshake(c);
        on_established(c);
        break;
      }
      case Conn::Phase::kApp: {
        App a = on_app(c);
        if (a == App::kBlocked) return;
        if (a == App::kFinished) return close(c, true);
        if (a == App::kFailed) return close(c, false, last_error_);
        break;
      }
    }
  }
  wake(c);
}

App Driver::write_out(Conn& c) {
  for (int i = 0; i < kReadsPerStep && c.out_off < c.out_len; ++i) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_write_ex(c.ssl, c.out + c.out_off, c.out_len - c.out_off, &n);
    if (rc != 1) return ssl_status(c, rc, "write");
    c.out_off += n;
  }
  return c.out_off == c.out_len ? App::kFinished : App::kMore;
}

App Driver::read_in(Conn& c) {
  for (int i = 0; i < kReadsPerStep && c.in_got < c.in_want; ++i) {
    ERR_clear_error();
    size_t n = 0;
    int rc =
        SSL_read_ex(c.ssl, scratch_.data(), std::min(scratch_.size(), c.in_want - c.in_got), &n);
    if (rc != 1) return ssl_status(c, rc, "read");
    c.in_got += n;
  }
  return c.in_got >= c.in_want ? App::kFinished : App::kMore;
}

App Driver::read_count(Conn& c) {
  for (int i = 0; i < kReadsPerStep; ++i) {
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(c.ssl, scratch_.data(), scratch_.size(), &n);
    if (rc != 1) return ssl_status(c, rc, "read");
    c.bytes += n;
  }
  return App::kMore;
}

}  // namespace tlsgate::bench
