// Blocking socket helpers for `tlsgate probe` (net/probe.h,
// net/probe_enumerate.h) on the non-blocking sockets dial() makes: every call
// is bounded by a deadline. Tooling only; not the data path.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

struct ssl_st;
struct ssl_ctx_st;

namespace tlsgate::net {

// The key-exchange group of a finished handshake in tlsgate's spelling
// ("X25519", "P-256", "ffdhe2048"; "DH 2048 bits" for TLS 1.2 DHE), or "".
std::string negotiated_group(ssl_st* ssl);

// The curve of the server's certificate when it is an EC key, in the same
// spelling ("P-256"), else "" (RSA, Ed25519, no certificate).
std::string certificate_curve(ssl_st* ssl);

// Presents `cert` (a PEM chain) with `key` when a server asks for a client
// certificate. The error names --cert or --key and gives OpenSSL's reason.
tl::expected<void, std::string> use_client_certificate(ssl_ctx_st* ctx,
                                                       const std::filesystem::path& cert,
                                                       const std::filesystem::path& key);

// Sets *seen when the server of `ssl` sends a CertificateRequest (the
// connection's message callback and its argument).
void watch_certificate_request(ssl_st* ssl, bool* seen);

// "1.5 s", for the sentences that name a timeout.
std::string seconds_text(std::chrono::milliseconds ms);

// "127.0.0.1:5432" / "[::1]:5432" of a connected socket ("" if unknown).
std::string peer_address(int fd);

// Sends all of `data`; the error says why not ("timed out", errno text).
tl::expected<void, std::string> send_all(int fd, std::string_view data,
                                         std::chrono::steady_clock::time_point deadline);

// Reads 1..max bytes. Errors: "" when the deadline passed, else what
// happened ("the server closed the connection", errno text).
tl::expected<std::string, std::string> read_some(int fd, size_t max,
                                                 std::chrono::steady_clock::time_point deadline);

}  // namespace tlsgate::net
