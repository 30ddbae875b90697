// PROXY protocol v2 header (HAProxy's spec) sent first to the backend.
//
// Carries the client's source and the gate's destination address and, for a
// TLS client, a PP2_TYPE_SSL TLV with the TLS version, cipher and client
// certificate CN as HAProxy sends them, plus the mapped identity in the
// custom TLV 0xE0 (PP2_TYPE_MIN_CUSTOM) so a backend can authorise by it.
// The header's lengths are 16 bits: a field too long to fit (a 64 KiB
// identity) is left out, never cut; the identity keeps its place first.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace tlsgate::net {

struct ProxyInfo {
  boost::asio::ip::tcp::endpoint source;
  boost::asio::ip::tcp::endpoint destination;
  bool tls = false;
  bool client_cert = false;  // the client presented a certificate
  // ... and it was verified (not under trust_all): verify 0; else (none, or
  // unverified) 1, as the PROXY protocol and HAProxy say.
  bool verified = false;
  std::string tls_version;  // "TLSv1.3"
  std::string cipher;       // OpenSSL name
  std::string client_cn;
  std::string identity;  // mapped identity, "" if none
};

inline constexpr unsigned char kPp2TypeSsl = 0x20;
inline constexpr unsigned char kPp2SubtypeSslVersion = 0x21;
inline constexpr unsigned char kPp2SubtypeSslCn = 0x22;
inline constexpr unsigned char kPp2SubtypeSslCipher = 0x23;
inline constexpr unsigned char kPp2TypeTlsgateIdentity = 0xE0;

std::string proxy_v2_header(const ProxyInfo& info);

}  // namespace tlsgate::net
