// The tls unit tests' fixtures: a policy folder minted per test, and real
// TLS handshakes between two built contexts, in memory.
//
// MemoryConnection joins a client SSL and a server SSL with a BIO pair and
// drives both on the calling thread, turn by turn (bounded): no sockets, no
// threads, the same bytes every run. A side that fails is explained right
// away with explain_handshake_failure(), as the gate does, while its
// errors are still on the thread's OpenSSL error queue.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/settings.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/context.h"
#include "tls/failure_reason.h"
#include "tls/peer_identity.h"
#include "tls/ssl_handles.h"

namespace tlsgate::tls::testing {

// A policy folder and its Policy (support/policy_folder.h).
using test::make_policy;

// Addresses the two ends give each other in explanations.
inline constexpr char kClientAddress[] = "127.0.0.1:40000";
inline constexpr char kServerAddress[] = "127.0.0.1:5432";

class MemoryConnection {
 public:
  // A client of `client` that expects the name `host` (verified when the
  // client's policy says so) and offers `resume` if given; a server of `server`.
  MemoryConnection(const Context& server, const Context& client, const std::string& host,
                   SSL_SESSION* resume = nullptr);
  // Closes both ends with close_notify: OpenSSL marks the session of a
  // connection dropped without one as not resumable.
  ~MemoryConnection();
  MemoryConnection(const MemoryConnection&) = delete;
  MemoryConnection& operator=(const MemoryConnection&) = delete;

  struct Outcome {
    bool server_ok = false;
    bool client_ok = false;
    std::string server_error;  // explain_handshake_failure() on the server side
    std::string client_error;  // ... on the client side
    // classify_handshake_failure() of each side that failed (kOther if none).
    FailureReason server_reason = FailureReason::kOther;
    FailureReason client_reason = FailureReason::kOther;
    bool ok() const { return server_ok && client_ok; }
  };
  // Runs both handshakes until each side is done or has failed.
  Outcome handshake();

  // After the handshake: the server sends `data` and the client reads it,
  // and with it the session tickets sent before it. "" or why not.
  std::string server_to_client(const std::string& data);
  // The client sends `data` and the server reads it. "" or why not.
  std::string client_to_server(const std::string& data);

  SSL* server() const { return server_.get(); }
  SSL* client() const { return client_.get(); }
  // Whether the client resumed the session it offered.
  bool resumed() const { return SSL_session_reused(client_.get()) == 1; }
  // The client's session as it stands (with the last ticket it received).
  SslSessionPtr session() const { return SslSessionPtr(SSL_get1_session(client_.get())); }

 private:
  const Context& server_ctx_;
  const Context& client_ctx_;
  SslPtr server_;
  SslPtr client_;
};

// A CA, and policies `srv` (a server certificate for localhost and
// 127.0.0.1) and `cli` (a client certificate for client_names), in a temp
// folder of the test's own; tests change the policies, then build them.
class TlsTest : public ::testing::Test {
 protected:
  explicit TlsTest(const std::string& ca_name,
                   const std::vector<std::string>& client_names = {"app1"});

  // build_context() that is expected to succeed (null when it did not).
  std::shared_ptr<const Context> build(const config::Policy& p, Side side,
                                       const BuildOptions& options = {});

  test::TempDir dir_;
  test::TestCa ca_;
  pki::Issued client_leaf_;
  config::Policy server_;
  config::Policy client_;
};

struct HandshakeResult {
  bool server_ok = false;
  bool client_ok = false;
  std::string server_error;  // check_peer() message or "handshake failed"
  std::string client_error;  // why the client refused the server's certificate
  PeerIdentity server_saw;   // the client's identity as the server mapped it
  std::string version;       // negotiated, e.g. "TLSv1.3"
  std::string cipher;
  std::string group;
};

// Runs one handshake and check_peer() on the server, then a byte each way
// (in TLS 1.3 the server's verdict on the client's certificate arrives after
// the client's handshake); `host` is the name the client expects.
HandshakeResult handshake(const Context& server, const Context& client, const std::string& host);

}  // namespace tlsgate::tls::testing
