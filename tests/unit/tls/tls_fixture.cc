#include "tls_fixture.h"

#include <openssl/err.h>

#include "tls/failure_classifier.h"
#include "tls/handshake_error.h"
#include "tls/server_name.h"

namespace tlsgate::tls::testing {

TlsTest::TlsTest(const std::string& ca_name, const std::vector<std::string>& client_names)
    : ca_(test::make_test_ca(ca_name)),
      client_leaf_(test::make_leaf(ca_, client_names, false, true)),
      server_(
          make_policy(dir_.path(), "srv", ca_, test::make_leaf(ca_, {"localhost", "127.0.0.1"}))),
      client_(make_policy(dir_.path(), "cli", ca_, client_leaf_)) {}

std::shared_ptr<const Context> TlsTest::build(const config::Policy& p, Side side,
                                              const BuildOptions& options) {
  auto ctx = build_context(p, side, options, util::SystemClock::instance());
  EXPECT_TRUE(ctx) << ctx.error().message();
  return ctx ? *ctx : nullptr;
}

MemoryConnection::MemoryConnection(const Context& server, const Context& client,
                                   const std::string& host, SSL_SESSION* resume)
    : server_ctx_(server),
      client_ctx_(client),
      server_(SSL_new(server.ssl_ctx.get())),
      client_(SSL_new(client.ssl_ctx.get())) {
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  BIO_new_bio_pair(&client_end, 0, &server_end, 0);
  SSL_set_bio(client_.get(), client_end, client_end);
  SSL_set_bio(server_.get(), server_end, server_end);
  SSL_set_accept_state(server_.get());
  SSL_set_connect_state(client_.get());
  set_expected_name(client_.get(), host, client.policy.verify_hostname);
  if (resume != nullptr) SSL_set_session(client_.get(), resume);
}

MemoryConnection::~MemoryConnection() {
  for (SSL* ssl : {client_.get(), server_.get()}) {
    if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
  }
  ERR_clear_error();
}

MemoryConnection::Outcome MemoryConnection::handshake() {
  Outcome r;
  bool server_done = false;
  bool client_done = false;
  // One side's step: true once it is done (finished or failed).
  auto step = [](SSL* ssl, const Context& ctx, const char* peer, bool& ok, std::string& error,
                 FailureReason& reason) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      ok = true;
      return true;
    }
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
    reason = classify_handshake_failure(ssl);  // before the explanation drains the queue
    error = explain_handshake_failure(ssl, ctx, peer);
    return true;
  };
  // A TLS 1.3 handshake takes three flights; a failure's alert one more.
  for (int turn = 0; turn < 20 && !(server_done && client_done); ++turn) {
    if (!client_done) {
      client_done = step(client_.get(), client_ctx_, kServerAddress, r.client_ok, r.client_error,
                         r.client_reason);
    }
    if (!server_done) {
      server_done = step(server_.get(), server_ctx_, kClientAddress, r.server_ok, r.server_error,
                         r.server_reason);
    }
  }
  if (!client_done) r.client_error = "client handshake stalled";
  if (!server_done) r.server_error = "server handshake stalled";
  return r;
}

namespace {

// `from` writes data, `to` reads all of it; "" or why not.
std::string transfer(SSL* from, SSL* to, const std::string& data) {
  ERR_clear_error();
  size_t written = 0;
  if (SSL_write_ex(from, data.data(), data.size(), &written) != 1 || written != data.size()) {
    return "write failed: " + std::to_string(SSL_get_error(from, 0));
  }
  std::string got(data.size(), '\0');
  size_t have = 0;
  for (int turn = 0; turn < 20 && have < got.size(); ++turn) {
    size_t n = 0;
    if (SSL_read_ex(to, got.data() + have, got.size() - have, &n) == 1) {
      have += n;
      continue;
    }
    int err = SSL_get_error(to, 0);
    if (err != SSL_ERROR_WANT_READ) return "read failed: SSL error " + std::to_string(err);
  }
  if (got != data) return "read \"" + got.substr(0, have) + "\", not \"" + data + "\"";
  return "";
}

}  // namespace

std::string MemoryConnection::server_to_client(const std::string& data) {
  return transfer(server_.get(), client_.get(), data);
}

std::string MemoryConnection::client_to_server(const std::string& data) {
  return transfer(client_.get(), server_.get(), data);
}

HandshakeResult handshake(const Context& server, const Context& client, const std::string& host) {
  MemoryConnection conn(server, client, host);
  auto outcome = conn.handshake();
  HandshakeResult r;
  if (!outcome.server_ok) r.server_error = "handshake failed";
  if (!outcome.client_ok) {
    r.client_error = X509_verify_cert_error_string(SSL_get_verify_result(conn.client()));
  }
  if (outcome.server_ok) {
    auto peer = check_peer(conn.server(), server);
    if (!peer) {
      r.server_error = peer.error().message();
    } else {
      r.server_ok = true;
      r.server_saw = *peer;
    }
  }
  if (outcome.client_ok) {
    r.client_ok = conn.server_to_client("x").empty();
    r.version = SSL_get_version(conn.client());
    r.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(conn.client()));
    int nid = SSL_get_negotiated_group(conn.client());
    r.group = nid != 0 ? OBJ_nid2sn(nid) : "";
  }
  ERR_clear_error();
  return r;
}

}  // namespace tlsgate::tls::testing
