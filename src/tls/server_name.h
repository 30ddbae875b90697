// What a TLS client sends and checks for the name it dialled.
//
// DESIGN.md: SNI is sent only when the name is a DNS name; an IP literal is
// checked against the certificate's IP SANs, a DNS name against its DNS SANs
// (RFC 6125, left-most wildcard). Call before SSL_connect.
#pragma once

#include <string>

#include <openssl/ssl.h>

namespace tlsgate::tls {

bool is_ip_literal(const std::string& host);

// Sets SNI (DNS names only) on a client SSL.
void set_sni(SSL* ssl, const std::string& host);

// Sets SNI and, when verify is true, makes the handshake fail unless the
// peer's certificate names `host`. Returns false if OpenSSL refused the name.
bool set_expected_name(SSL* ssl, const std::string& host, bool verify);

// The name check of set_expected_name() on verification parameters of our
// own (a re-check outside the handshake, tls/revalidate.h).
bool expect_name(X509_VERIFY_PARAM* param, const std::string& host);

}  // namespace tlsgate::tls
