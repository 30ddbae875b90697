// `tlsgate probe --enumerate`: every TLS version from SSLv3 to TLS 1.3 the
// server accepts, the cipher suites it accepts per version (in its own order
// when it imposes one), and the key-exchange groups it accepts.
//
// Two methods, and each finding says which one found it:
//   "openssl"      a real handshake by this machine's OpenSSL, offering only
//                  what is left to find (security level 0, so legacy
//                  versions and suites the library still has are offered);
//   "clienthello"  our own ClientHello (tls/client_hello.h), for versions and
//                  suites this OpenSSL cannot offer (SSLv3, RC4 and SEED
//                  without the legacy provider, export and NULL suites):
//                  read up to the ServerHello, which names the suite picked.
// Suites are found the way nmap's ssl-enum-ciphers does: offer all, note the
// pick, remove it, offer again until the server refuses. Versions run in
// parallel (at most kEnumerationThreads connections at once); every
// connection is bounded by options.timeout. Blocking; tooling only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net/probe.h"

namespace tlsgate::net {

inline constexpr int kEnumerationThreads = 4;

struct EnumeratedSuite {
  uint16_t code = 0;
  std::string name;          // IANA
  std::string openssl_name;  // "" when this OpenSSL does not know it
  std::string method;        // "openssl" or "clienthello"
};

struct EnumeratedVersion {
  uint16_t version = 0;  // tls::kTls12, ...
  std::string name;      // "TLSv1.2"
  bool accepted = false;
  std::string method;                   // how acceptance was established
  std::vector<EnumeratedSuite> suites;  // in the order the server picked them
  std::optional<bool> server_order;     // unknown with fewer than two suites
  std::string error;                    // a connection that failed along the way
  // The curves of the ECDSA certificates the server showed under this
  // version ("P-256"): TLS 1.2 groups must be asked for with them (below).
  std::vector<std::string> certificate_curves;
};

// Groups are tried one at a time under the highest version accepted. Under
// TLS 1.2 the groups a client offers also bound the curve of the server's
// ECDSA certificate (RFC 8422 section 5.1), so a group alone would fail
// against such a server whatever its key exchange allows: a group refused
// alone is offered again followed by the certificate's curve. When the
// server then picks the curve and imposes its own order (or its order is not
// known), whether it takes the group is not known, and `known` says so.
struct EnumeratedGroup {
  std::string name;  // "X25519", "P-256", ...
  bool accepted = false;
  std::string method = "openssl";
  bool known = true;  // false: neither accepted nor refused could be established
  std::string note;   // how it was found or why it is not known; "" for a plain answer
};

struct Enumeration {
  std::vector<EnumeratedVersion> versions;  // SSLv3 .. TLSv1.3
  std::vector<EnumeratedGroup> groups;
  int connections = 0;  // handshakes and hellos made
  std::string error;    // set when the server could not be reached at all
  // Every version was answered (accepted or refused): only then does a
  // grade without findings mean the server fits the profile.
  bool complete() const {
    return error.empty() && std::all_of(versions.begin(), versions.end(),
                                        [](const EnumeratedVersion& v) { return v.error.empty(); });
  }
};

// Called after each connection with how many are done and an estimate of the total.
using EnumerationProgress = std::function<void(int done, int total)>;

Enumeration enumerate(const ProbeOptions& options, const EnumerationProgress& progress);

}  // namespace tlsgate::net
