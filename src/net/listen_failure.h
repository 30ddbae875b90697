// The message for a listener that cannot be bound: what failed and a fix
// that depends on why (errno), since "address in use", "no such address on
// this host" and "privileged port" need different actions.
//
//   KEY: cannot listen on ADDR: Address already in use; stop what uses it ...
//
// Used by the connector listeners (net/gate.cc); the admin listeners may
// share it. Pure: formats only.
#pragma once

#include <string>

#include "config/settings.h"

namespace tlsgate::net {

// `error` is the errno of the failed socket/bind/listen call.
std::string listen_failure(const std::string& key, const config::HostPort& address, int error);

}  // namespace tlsgate::net
