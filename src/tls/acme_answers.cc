#include "tls/acme_answers.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <array>

#include <fmt/format.h>

#include "pki/openssl_error.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

void free_string(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                 void* /*argp*/) {
  std::unique_ptr<std::string> owned(static_cast<std::string*>(ptr));
}

// The SNI of the challenge a connection was switched to (an owned string).
int answered_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_string);
  return index;
}

int pending_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int pending_marker = 0;

// The extension's bytes as a reader that never runs past their end.
struct Bytes {
  const unsigned char* p;
  size_t n;
  bool take(size_t k, const unsigned char** out) {
    if (k > n) return false;
    *out = p;
    p += k;
    n -= k;
    return true;
  }
  bool u8(size_t* v) {
    const unsigned char* b = nullptr;
    if (!take(1, &b)) return false;
    *v = b[0];
    return true;
  }
  bool u16(size_t* v) {
    const unsigned char* b = nullptr;
    if (!take(2, &b)) return false;
    *v = (size_t{b[0]} << 8) | b[1];
    return true;
  }
};

// The ALPN extension offers exactly one protocol, acme-tls/1 (RFC 8737 §3:
// a validator offers nothing else, and an ordinary client never offers it alone).
bool only_acme_alpn(SSL* ssl) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                &len) != 1) {
    return false;
  }
  Bytes in{ext, len};
  size_t list = 0, name = 0;
  const unsigned char* proto = nullptr;
  if (!in.u16(&list) || list != in.n || !in.u8(&name) || !in.take(name, &proto) || in.n != 0) {
    return false;
  }
  return std::string_view(reinterpret_cast<const char*>(proto), name) == kAcmeTlsAlpn;
}

// The first host_name of the server_name extension, or "".
std::string client_sni(SSL* ssl) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) != 1) return "";
  Bytes in{ext, len};
  size_t list = 0, type = 0, name = 0;
  const unsigned char* host = nullptr;
  if (!in.u16(&list) || list != in.n || !in.u8(&type) || type != TLSEXT_NAMETYPE_host_name ||
      !in.u16(&name) || !in.take(name, &host)) {
    return "";
  }
  return util::to_lower(std::string_view(reinterpret_cast<const char*>(host), name));
}

int select_acme_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                     const unsigned char* /*in*/, unsigned int /*inlen*/, void* /*arg*/) {
  // Only a ClientHello that offered acme-tls/1 alone is switched here.
  *out = reinterpret_cast<const unsigned char*>(kAcmeTlsAlpn.data());
  *outlen = static_cast<unsigned char>(kAcmeTlsAlpn.size());
  return SSL_TLSEXT_ERR_OK;
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto* hook = static_cast<const AcmeHook*>(arg);
  if (only_acme_alpn(ssl)) {
    auto sni = client_sni(ssl);
    auto challenge = hook->store ? hook->store->find(sni) : SslCtxPtr{};
    if (!challenge) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_set_SSL_CTX(ssl, challenge.get()) == nullptr) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
    SSL_set_num_tickets(ssl, 0);
    if (SSL_get_ex_data(ssl, answered_index()) == nullptr) {
      SSL_set_ex_data(ssl, answered_index(), new std::string(sni));
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  if (hook->pending) {
    SSL_set_ex_data(ssl, pending_index(), &pending_marker);
    *alert = SSL_AD_HANDSHAKE_FAILURE;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

std::string acme_sni(std::string_view identifier) {
  std::string text(identifier);
  std::array<unsigned char, 16> addr{};
  if (inet_pton(AF_INET, text.c_str(), addr.data()) == 1) {
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", addr[3], addr[2], addr[1], addr[0]);
  }
  if (inet_pton(AF_INET6, text.c_str(), addr.data()) == 1) {
    std::string out;
    for (size_t i = addr.size(); i-- > 0;) {
      out += fmt::format("{:x}.{:x}.", addr[i] & 0xf, addr[i] >> 4);
    }
    return out + "ip6.arpa";
  }
  return util::to_lower(identifier);
}

util::Status AcmeChallengeStore::add(const std::string& identifier, X509* certificate,
                                     EVP_PKEY* key) {
  pki::clear_openssl_errors();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return util::fail(pki::openssl_error("cannot create an SSL context"));
  // RFC 8737 §4: the validator speaks TLS 1.2 or later.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_acme_alpn, nullptr);
  if (SSL_CTX_use_certificate(ctx.get(), certificate) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) {
    return util::fail(pki::openssl_error(
        fmt::format("cannot load the tls-alpn-01 challenge certificate for {}", identifier)));
  }
  util::MutexLock lock(mu_);
  by_sni_[acme_sni(identifier)] = std::move(ctx);
  return {};
}

void AcmeChallengeStore::remove(const std::string& identifier) {
  util::MutexLock lock(mu_);
  by_sni_.erase(acme_sni(identifier));
}

size_t AcmeChallengeStore::size() const {
  util::MutexLock lock(mu_);
  return by_sni_.size();
}

SslCtxPtr AcmeChallengeStore::find(std::string_view sni) const {
  util::MutexLock lock(mu_);
  auto it = by_sni_.find(util::to_lower(sni));
  if (it == by_sni_.end()) return {};
  SSL_CTX_up_ref(it->second.get());
  return SslCtxPtr(it->second.get());
}

void install_acme_hook(SSL_CTX* ctx, const AcmeHook* hook) {
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, const_cast<AcmeHook*>(hook));
}

const std::string* answered_acme_challenge(const SSL* ssl) {
  return static_cast<const std::string*>(SSL_get_ex_data(ssl, answered_index()));
}

bool refused_pending_certificate(const SSL* ssl) {
  return SSL_get_ex_data(ssl, pending_index()) != nullptr;
}

}  // namespace tlsgate::tls
