// What `serve` and `check` share about starting a gate: the rule a valid
// config must also meet to be served, and the wording of a start-up error.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"

namespace tlsgate::cli {

// Errors that make a valid config impossible to serve (serve refuses it,
// check exits 2): no connector, so nothing to listen on.
std::vector<config::Diagnostic> serve_requirements(const config::Config& config);

// A start-up error (a Gate::create() or listener message, "KEY: problem")
// worded as check words it: check's own finding, with its fix, when the
// audit finds that very problem; else the message located at its key,
// "FILE:LINE: KEY: problem". Messages that start with no key stay as they are.
std::string start_error(const config::Config& config, const std::string& message);

// What `check` reports as errors in a config that serve could start with
// (a cipher list the key cannot serve, a key others can read, a certificate
// that does not name the listen host, identities under client_auth=NONE):
// serve says them at start, as warnings, rather than let each client's
// failed handshake be the first sign. Not the served certificate's validity,
// which the gate itself warns about (net/gate.cc).
std::vector<config::Diagnostic> start_warnings(const config::Config& config);

}  // namespace tlsgate::cli
