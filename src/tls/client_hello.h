// A ClientHello of our own and a ServerHello parser, byte-level, no sockets
// and no OpenSSL (STYLE.md practice 19), for `probe --enumerate`.
//
// The local OpenSSL offers only what it was built and configured for (no
// SSLv3, no RC4 or SEED without the legacy provider, no export suites), so
// the suites and versions it cannot offer are asked for with a ClientHello
// built here: TLS 1.2 and older only (record version 0x0301, or 0x0300 for
// SSLv3), with SNI, supported_groups, ec_point_formats and
// signature_algorithms. The answer is read only as far as the ServerHello
// (or an alert): enough to know whether the server accepts that version and
// which of the offered suites it picks. Nothing here completes a handshake.
//
// known_suites() is the table of TLS <= 1.2 suites tlsgate can name, with the
// properties the grading needs. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::tls {

inline constexpr uint16_t kSsl3 = 0x0300;
inline constexpr uint16_t kTls10 = 0x0301;
inline constexpr uint16_t kTls11 = 0x0302;
inline constexpr uint16_t kTls12 = 0x0303;
inline constexpr uint16_t kTls13 = 0x0304;

// "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" (OpenSSL's spelling), else "0xXXXX".
std::string version_name(uint16_t version);

struct SuiteInfo {
  uint16_t code = 0;
  std::string_view name;  // IANA, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
};

// Properties read off an IANA name (TLS 1.3 names included).
struct SuiteTraits {
  std::string kx;  // "ECDHE", "DHE", "RSA", "ECDH_anon", "DH_anon", "TLS13", ...
  bool forward_secrecy = false;
  bool aead = false;  // GCM, CCM, ChaCha20-Poly1305
  bool cbc = false;
  bool weak = false;     // RC4, 3DES, DES, RC2, IDEA, NULL, EXPORT, anonymous
  std::string weakness;  // "RC4", "3DES", ... ("" when not weak)
};
SuiteTraits suite_traits(std::string_view iana_name);

// The TLS <= 1.2 suites tlsgate knows by code, in a client's usual preference
// (strong first).
const std::vector<SuiteInfo>& known_suites();
// The IANA name of a code, or "0xXXXX".
std::string suite_name(uint16_t code);

struct HelloOptions {
  uint16_t version = kTls12;     // client_version (and the record version)
  std::vector<uint16_t> suites;  // in preference order
  std::string server_name;       // SNI (DNS names only; "" sends none)
  std::vector<uint16_t> groups;  // supported_groups; empty: a broad default
  std::string random;            // 32 bytes; empty: a fixed pattern (tests)
};
// One TLS record holding the ClientHello.
std::string build_client_hello(const HelloOptions& options);

struct ServerHelloResult {
  enum class Kind {
    kNeedMore,     // feed more bytes
    kServerHello,  // version and suite are set
    kAlert,        // the server refused; alert is set
    kMalformed,    // not TLS, or a ServerHello that does not parse; error says why
  };
  Kind kind = Kind::kNeedMore;
  uint16_t version = 0;  // the negotiated version (supported_versions wins)
  uint16_t suite = 0;
  uint8_t alert = 0;  // alert description
  std::string error;
};
// Reads the server's first flight from its start: `bytes` is everything
// received so far. At most kMaxServerHelloBytes are looked at.
inline constexpr size_t kMaxServerHelloBytes = 64 * 1024;
ServerHelloResult parse_server_hello(std::string_view bytes);

// Codes of the groups (RFC 8446 NamedGroup) and their names ("X25519", "P-256", ...).
struct GroupInfo {
  uint16_t code;
  std::string_view name;     // tlsgate's spelling, as ssl.policy.*.groups takes it
  std::string_view openssl;  // for SSL_set1_groups_list
};
const std::vector<GroupInfo>& known_groups();

}  // namespace tlsgate::tls
