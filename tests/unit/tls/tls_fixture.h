// A policy folder minted per test, and a real TLS handshake between two
// contexts over a socketpair (blocking, server on its own thread).
#pragma once

#include <sys/socket.h>

#include <filesystem>
#include <future>
#include <string>

#include "config/settings.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/context.h"
#include "tls/peer_identity.h"
#include "tls/server_name.h"
#include "util/fd.h"

namespace tlsgate::tls::testing {

// Writes certificates/<scope>/{private.key,public.crt,trusted/ca.crt,revoked/}
// under dir and returns a Policy pointing there (enabled).
inline config::Policy make_policy(const std::filesystem::path& dir, const std::string& scope,
                                  const test::TestCa& ca, const pki::Issued& leaf) {
  config::Policy p;
  p.scope = scope;
  p.enabled = true;
  p.base_directory = dir / "certificates" / scope;
  p.private_key = p.base_directory / "private.key";
  p.public_certificate = p.base_directory / "public.crt";
  p.trusted_dir = p.base_directory / "trusted";
  p.revoked_dir = p.base_directory / "revoked";
  std::filesystem::create_directories(p.trusted_dir);
  std::filesystem::create_directories(p.revoked_dir);
  test::write_key(p.private_key, leaf.key.get());
  test::write_cert(p.public_certificate, leaf.cert.get());
  test::write_cert(p.trusted_dir / "ca.crt", ca.ca.cert.get());
  return p;
}

struct HandshakeResult {
  bool server_ok = false;
  bool client_ok = false;
  std::string server_error;  // check_peer() message or OpenSSL reason
  std::string client_error;
  PeerIdentity server_saw;  // the client's identity as the server mapped it
  std::string version;      // negotiated, e.g. "TLSv1.3"
  std::string cipher;
  std::string group;
};

// Runs one handshake; `host` is the name the client expects (verified).
inline HandshakeResult handshake(const Context& server, const Context& client,
                                 const std::string& host) {
  int fds[2];
  ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
  util::Fd sfd(fds[0]), cfd(fds[1]);
  HandshakeResult r;
  auto server_side = std::async(std::launch::async, [&] {
    SslPtr ssl(SSL_new(server.ssl_ctx.get()));
    SSL_set_fd(ssl.get(), sfd.get());
    if (SSL_accept(ssl.get()) != 1) {
      r.server_error = "handshake failed";
      ::shutdown(sfd.get(), SHUT_RDWR);
      return;
    }
    auto peer = check_peer(ssl.get(), server);
    if (!peer) {
      r.server_error = peer.error().message();
    } else {
      r.server_ok = true;
      r.server_saw = *peer;
    }
    char byte = 0;
    SSL_write(ssl.get(), "x", 1);
    SSL_read(ssl.get(), &byte, 1);
  });
  SslPtr ssl(SSL_new(client.ssl_ctx.get()));
  SSL_set_fd(ssl.get(), cfd.get());
  set_expected_name(ssl.get(), host, client.policy.verify_hostname);
  if (SSL_connect(ssl.get()) == 1) {
    char byte = 0;
    // The server's verdict on our certificate arrives after the handshake in TLS 1.3.
    r.client_ok = SSL_read(ssl.get(), &byte, 1) == 1;
    SSL_write(ssl.get(), "y", 1);
    r.version = SSL_get_version(ssl.get());
    r.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl.get()));
    int nid = SSL_get_negotiated_group(ssl.get());
    r.group = nid != 0 ? OBJ_nid2sn(nid) : "";
  } else {
    r.client_error = X509_verify_cert_error_string(SSL_get_verify_result(ssl.get()));
    ::shutdown(cfd.get(), SHUT_RDWR);
  }
  server_side.wait();
  return r;
}

}  // namespace tlsgate::tls::testing
