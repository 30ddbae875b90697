// A peer that answered our ClientHello with something other than TLS: an
// HTTP server, a NATS or MySQL port without TLS, a Redis, an SSH daemon. The
// probe tells "this is a plaintext port" apart from "no TLS version in
// common" by the first bytes the peer sent, which these pure functions read.
// No I/O, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::net {

// The reason word of such a failure, beside tls::reason_name()'s words. It is
// the probe's own: the gate counts a backend like this under its own reasons.
inline constexpr std::string_view kPlaintextPeerReason = "plaintext_peer";

// What `first_bytes` (the first bytes a peer sent, at most a few dozen are
// needed) look like when they cannot begin a TLS record — "HTTP", "NATS",
// "MySQL/MariaDB", "plain text", "a protocol other than TLS" — or nullopt
// when they may (a TLS record starts with a content type 20..24 and major
// version 3), or when there are none.
std::optional<std::string> plaintext_protocol(std::string_view first_bytes);

// The sentence for the failure: names `peer`, what it looks like, its first
// line, and what to do (`starttls_done`: the bytes came after a STARTTLS
// exchange, so --starttls is no advice). Call only when plaintext_protocol()
// has a value.
std::string explain_plaintext_peer(std::string_view first_bytes, const std::string& peer,
                                   bool starttls_done);

}  // namespace tlsgate::net
