#include "tls/server_name.h"

#include <arpa/inet.h>

#include <openssl/x509v3.h>

namespace tlsgate::tls {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void set_sni(SSL* ssl, const std::string& host) {
  if (host.empty() || is_ip_literal(host)) return;
  // SSL_set_tlsext_host_name without its C cast.
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(host.c_str()));
}

bool set_expected_name(SSL* ssl, const std::string& host, bool verify) {
  set_sni(ssl, host);
  if (!verify || host.empty()) return true;
  return expect_name(SSL_get0_param(ssl), host);
}

bool expect_name(X509_VERIFY_PARAM* param, const std::string& host) {
  if (is_ip_literal(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
}

}  // namespace tlsgate::tls
