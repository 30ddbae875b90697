// CertificatePair: a new certificate and key for a policy, checked as a
// reload would check them and then written over the policy's files — the
// one-node core of certificate replacement, shared by the admin API's upload
// (PUT /v1/policies/SCOPE/certificate), the cluster's staged replacement and
// ACME renewals.
//
// check_pair() checks the material (key matches, chain verifies against the
// policy's trusted_dir plus any issuer to trust first, names cover the listen
// hosts of the connectors that serve it, valid now) and then builds a real
// context from it (build_context on temp files in the policy's folder),
// collecting every reason at once; install_pair() writes the checked pair
// over the policy's files atomically (util/atomic_file.h: key 0400,
// certificate 0644), the old pair kept as FILE.bak. Nothing is written unless
// every check passed. Control path only (file I/O, OpenSSL parsing).
#pragma once

#include <openssl/types.h>

#include <map>
#include <string>
#include <vector>

#include "config/settings.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::tls {

struct CertificatePair {
  std::string certificate_pem;  // leaf first, then its chain
  std::string private_key_pem;
  std::string origin = "uploaded";  // messages say "the <origin> certificate"

  std::string certificate_source() const { return "the " + origin + " certificate"; }
  std::string key_source() const { return "the " + origin + " private key"; }
};

struct PairTarget {
  config::Policy policy;                  // the settings the policy is served with now
  bool serves_clients = false;            // a connector terminates TLS with it (server side)
  std::vector<std::string> listen_hosts;  // of those connectors; "" and wildcards skipped
  // For messages: the config key a listen host comes from when it is not a
  // connector's (e.g. "127.0.0.1" -> "admin.listen_address").
  std::map<std::string, std::string> listen_host_keys;
  bool expand_commands = false;  // serve --expand-commands, for private_key_password
  // PEM certificates trusted on top of trusted_dir: a new issuer that the
  // cluster's trust-first phase is adding.
  std::string extra_trust_pem;
};

struct PairRefusal {
  std::vector<std::string> reasons;  // each a sentence: what is wrong with the pair
};

// Ok, or every reason the material would not serve policy `target`.
tl::expected<void, PairRefusal> check_pair(const CertificatePair& material,
                                           const PairTarget& target, const util::Clock& clock);

// The policy's files are replaced by regular files. A file that is a
// symbolic link (say, to certbot's live/ folder, or a mounted secret) would
// be replaced by a copy, silently detaching the tool that renews its target;
// so it is refused before anything is written: "FILE is a symbolic link to
// TARGET; update the target ... or replace the link by a file first".
util::Status refuse_symbolic_links(const config::Policy& policy);

// Writes the pair (after check_pair()); the old files become *.bak. Refuses
// (writing nothing) where refuse_symbolic_links() does.
util::Status install_pair(const CertificatePair& material, const config::Policy& policy);

// The certificate names `host`: an IP literal in its IP SANs, a DNS name
// in its DNS SANs (RFC 6125, a left-most wildcard label).
bool names_cover(const X509* leaf, const std::string& host);

// Puts the *.bak pair install_pair() kept back in place.
util::Status restore_pair_backup(const config::Policy& policy);

}  // namespace tlsgate::tls
