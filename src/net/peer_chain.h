// fetch_peer_chain: connect to HOST:PORT, complete a TLS handshake without
// verifying, and return the certificates the peer sent (leaf first).
//
// A blocking helper for tooling (`cert pin HOST:PORT`, `probe`), bounded by
// `timeout` for connect and handshake together; not used on the data path.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::net {

struct Endpoint {
  std::string host;  // name or IP literal (no brackets)
  unsigned port = 0;
};

// Parses "host:port" or "[v6]:port"; the error says which form is expected.
util::Result<Endpoint> parse_endpoint(const std::string& text);

util::Result<std::vector<pki::X509Ptr>> fetch_peer_chain(const Endpoint& peer,
                                                         std::chrono::milliseconds timeout);

}  // namespace tlsgate::net
