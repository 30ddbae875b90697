// HttpResponder: answers ACME HTTP-01 challenges (RFC 8555 8.3).
//
// Binds listen_address ("host:port", "[::1]:port"; port 0: any) at start()
// and serves, on a thread of its own, GET (and HEAD)
// /.well-known/acme-challenge/TOKEN with the key authorization of a
// published token (text/plain), 404 for anything else. One request per
// connection, answered and closed. Hostile clients are bounded: at most
// kMaxConnections at once (more wait in the kernel's backlog), 4 KiB of
// request header each, 5 s per connection from accept to answer; nothing
// grows with what a client sends. The destructor wakes the thread, closes
// every socket and joins.
//
// Thread: publish() and withdraw() may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "acme/client.h"
#include "util/fd.h"
#include "util/mutex.h"

namespace tlsgate::acme {

class HttpResponder : public ChallengeResponder {
 public:
  static constexpr size_t kMaxConnections = 64;

  // Binds now (the error names the address).
  static util::Result<std::unique_ptr<HttpResponder>> start(const std::string& listen_address);
  ~HttpResponder() override;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;

  uint16_t port() const { return port_; }

  // kind must be kHttp01 (a TLS-ALPN-01 challenge is an error).
  util::Status publish(ChallengeKind kind, const std::string& identifier, const std::string& token,
                       const std::string& key_authorization) override;
  void withdraw(ChallengeKind kind, const std::string& identifier,
                const std::string& token) override;

  // Requests answered with a key authorization so far (tests).
  size_t answered() const;

 private:
  HttpResponder(util::Fd listener, util::Fd wake, uint16_t port);
  void run();
  // The response for one request header (bytes as received), "" to close
  // without answering (not HTTP).
  std::string respond(const std::string& request);

  util::Fd listener_;
  util::Fd wake_;  // eventfd: the destructor asks the thread to end
  uint16_t port_ = 0;
  mutable util::Mutex mu_;
  std::map<std::string, std::string> answers_ GUARDED_BY(mu_);  // token -> key authorization
  size_t answered_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace tlsgate::acme
