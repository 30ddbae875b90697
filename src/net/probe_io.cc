#include "net/probe_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <openssl/ssl.h>

#include "net/dial.h"
#include "pki/handles.h"
#include "pki/openssl_error.h"
#include "util/strings.h"

namespace tlsgate::net {
namespace {

// OpenSSL's group names in tlsgate's spelling (ssl.policy.*.groups).
std::string group_name(const char* openssl_name) {
  if (openssl_name == nullptr) return "";
  std::string n = openssl_name;
  if (n == "secp256r1" || n == "prime256v1") return "P-256";
  if (n == "secp384r1") return "P-384";
  if (n == "secp521r1") return "P-521";
  if (n == "x25519") return "X25519";
  if (n == "x448") return "X448";
  return n;
}

void on_message(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                SSL* /*ssl*/, void* arg) {
  if (write_p != 0 || content_type != SSL3_RT_HANDSHAKE || len == 0 || arg == nullptr) return;
  if (static_cast<const unsigned char*>(buf)[0] == SSL3_MT_CERTIFICATE_REQUEST) {
    *static_cast<bool*>(arg) = true;
  }
}

}  // namespace

tl::expected<void, std::string> use_client_certificate(SSL_CTX* ctx,
                                                       const std::filesystem::path& cert,
                                                       const std::filesystem::path& key) {
  auto fail = [](const std::string& what) {
    return tl::unexpected(pki::openssl_error(what).message());
  };
  pki::clear_openssl_errors();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return fail("cannot read --cert " + cert.string());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot read --key " + key.string());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("--key " + key.string() + " does not match --cert " + cert.string());
  }
  return {};
}

void watch_certificate_request(SSL* ssl, bool* seen) {
  SSL_set_msg_callback(ssl, on_message);
  SSL_set_msg_callback_arg(ssl, seen);
}

std::string negotiated_group(SSL* ssl) {
  int nid = SSL_get_negotiated_group(ssl);
  if (nid != 0 && nid != NID_undef) {
    std::string g = group_name(SSL_group_to_name(ssl, nid));
    if (!g.empty()) return g;
  }
  EVP_PKEY* key = nullptr;
  if (SSL_get_peer_tmp_key(ssl, &key) == 1 && key != nullptr) {
    pki::EvpPkeyPtr owned(key);
    char name[80] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) == 1) return group_name(name);
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_X25519) return "X25519";
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_X448) return "X448";
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_DH) {
      return "DH " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
    }
  }
  return "";
}

std::string certificate_curve(SSL* ssl) {
  const X509* leaf = SSL_get0_peer_certificate(ssl);
  EVP_PKEY* key = leaf != nullptr ? X509_get0_pubkey(leaf) : nullptr;
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return "";
  char name[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1) return "";
  return group_name(name);
}

std::string seconds_text(std::chrono::milliseconds ms) {
  auto tenths = ms.count() / 100;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") +
         " s";
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "";
}

tl::expected<void, std::string> send_all(int fd, std::string_view data,
                                         std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {  // bounded by the deadline
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, Io::kWantWrite, deadline))
        return tl::unexpected(std::string("timed out sending"));
      continue;
    }
    return tl::unexpected("cannot send: " + util::errno_text(errno));
  }
  return {};
}

tl::expected<std::string, std::string> read_some(int fd, size_t max,
                                                 std::chrono::steady_clock::time_point deadline) {
  std::string buf(max == 0 ? 1 : max, '\0');
  while (true) {  // bounded by the deadline
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (n == 0) return tl::unexpected(std::string("the server closed the connection"));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd, Io::kWantRead, deadline)) return tl::unexpected(std::string());
      continue;
    }
    return tl::unexpected(util::errno_text(errno));
  }
}

}  // namespace tlsgate::net
