// fetch_peer_chain: connect to HOST:PORT, complete a TLS handshake without
// verifying, and return the certificates the peer sent (leaf first).
//
// A blocking helper for tooling (`cert pin HOST:PORT`, `probe`), bounded by
// `timeout` for connect and handshake together; not used on the data path.
// HOST:PORT is parsed with config::parse_address.
#pragma once

#include <chrono>
#include <vector>

#include "config/settings.h"
#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::net {

util::Result<std::vector<pki::X509Ptr>> fetch_peer_chain(const config::HostPort& peer,
                                                         std::chrono::milliseconds timeout);

}  // namespace tlsgate::net
