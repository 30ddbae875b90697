// OCSP stapling on the server side: the responses to staple, and the
// callback that hands them to clients that ask (status_request).
//
// StapleStore holds one DER OCSP response per leaf certificate, keyed by the
// leaf's SHA-256 fingerprint (pki::CertificateInfo::fingerprint_sha256). A
// context built with stapling looks its own leaf up at each handshake, so a
// reload that keeps the certificate keeps its staple at once, and a reload
// that swaps it can never serve the old leaf's response with the new leaf
// (HAProxy #2319): the new leaf has no entry until its own answer arrives.
// Who fetches, verifies and refreshes the responses is the net layer's
// business (net/ocsp_engine.h); this layer only serves what it is given.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "util/mutex.h"

namespace tlsgate::tls {

class StapleStore {
 public:
  // Replaces leaf_id's response (der: a verified DER OCSPResponse).
  void set(const std::string& leaf_id, std::shared_ptr<const std::string> der);
  // The response to staple for leaf_id, or null.
  std::shared_ptr<const std::string> get(const std::string& leaf_id) const;
  void erase(const std::string& leaf_id);

 private:
  mutable util::Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> by_leaf_ GUARDED_BY(mu_);
};

// Makes ssl_ctx staple store's response for leaf_id to every client that
// asks for one; a client is served unstapled while there is none. Once per
// SSL_CTX, before it serves.
void enable_stapling(SSL_CTX* ssl_ctx, std::shared_ptr<const StapleStore> store,
                     std::string leaf_id);

}  // namespace tlsgate::tls
