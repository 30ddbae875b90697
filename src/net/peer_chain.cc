#include "net/peer_chain.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/dial.h"
#include "net/stream.h"
#include "pki/openssl_error.h"
#include "tls/server_name.h"
#include "tls/ssl_handles.h"

namespace tlsgate::net {

util::Result<std::vector<pki::X509Ptr>> fetch_peer_chain(const config::HostPort& peer,
                                                         std::chrono::milliseconds timeout) {
  auto deadline = deadline_after(timeout);
  std::string name = config::to_string(peer);
  auto socket = dial(peer, deadline);
  if (!socket) {
    const auto& e = socket.error();
    if (e.resolving) return util::fail(name + ": cannot resolve: " + e.reason);
    return util::fail(name + ": cannot connect: " + (e.timed_out ? "timed out" : e.reason));
  }

  pki::clear_openssl_errors();
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  tls::SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl) return util::fail(pki::openssl_error("cannot create a TLS client"));
  SSL_set_connect_state(ssl.get());
  tls::set_sni(ssl.get(), peer.host);
  Stream stream(socket->get());
  if (!stream.attach_tls(std::move(ssl))) {
    return util::fail(pki::openssl_error("cannot create a TLS client"));
  }
  while (true) {  // bounded by the deadline
    auto r = stream.handshake();
    if (r.status == Io::kOk) break;
    if (r.status != Io::kWantRead && r.status != Io::kWantWrite) {
      unsigned long error = ERR_peek_error();
      int reason = ERR_GET_LIB(error) == ERR_LIB_SSL ? ERR_GET_REASON(error) : 0;
      if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_UNKNOWN_PROTOCOL ||
          reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
        // A plaintext greeting (MySQL's, NATS's INFO, an HTTP answer) read as a record.
        return util::fail(name + ": did not answer in TLS (" + pki::drain_openssl_errors() +
                          "); is it a plaintext port, or one that starts TLS inside its own "
                          "protocol? `tlsgate probe " +
                          name + " --starttls postgres|mysql|nats` shows its certificate and pin");
      }
      return util::fail(pki::openssl_error(name + ": TLS handshake failed"));
    }
    if (!wait_ready(socket->get(), r.status, deadline)) {
      return util::fail(name + ": TLS handshake timed out");
    }
  }
  std::vector<pki::X509Ptr> chain;
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(stream.ssl());
  for (int i = 0; sent != nullptr && i < sk_X509_num(sent); ++i) {
    chain.push_back(pki::up_ref(sk_X509_value(sent, i)));
  }
  stream.shutdown_write(false);
  if (chain.empty()) return util::fail(name + ": the peer sent no certificate");
  return chain;
}

}  // namespace tlsgate::net
