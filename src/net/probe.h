// The engine of `tlsgate probe`: one TLS handshake with a server (after its
// protocol's STARTTLS exchange), plus one resumption attempt, and what they
// showed as plain data for the command line to render.
//
// run_probe() blocks the calling thread; every step (name resolution aside,
// which the system resolver bounds) is bounded by options.timeout, counted
// per connection. It never throws and always returns a report: a failed step
// is in `failure` (step, reason word, sentence) with whatever was learned
// before it. Verification never stops the handshake: the chain is verified
// against --ca (else the system store) and the name dialled (or
// --servername), and the verdict is recorded. Not used on the data path.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.h"
#include "net/probe_starttls.h"
#include "pki/handles.h"
#include "tls/failure_reason.h"
#include "util/fd.h"

namespace tlsgate::net {

struct ProbeOptions {
  config::HostPort target;
  StartTlsProtocol starttls = StartTlsProtocol::kNone;
  std::string server_name;          // SNI and the name checked; "" = target.host
  std::filesystem::path ca_file;    // trusted CAs; empty = the system store
  std::filesystem::path cert_file;  // client certificate (with key_file), or empty
  std::filesystem::path key_file;
  std::chrono::milliseconds timeout{10000};  // per connection: connect, STARTTLS, handshake
};

// Where a probe stopped. Names (step_name): dns, tcp, starttls, handshake, verification.
enum class ProbeStep { kDns, kTcp, kStartTls, kHandshake, kVerification };
std::string_view step_name(ProbeStep step);

struct ProbeFailure {
  ProbeStep step = ProbeStep::kTcp;
  std::string reason;   // tls::reason_name() word: "unknown_ca", "connect_failed", ...
  std::string message;  // the sentence, naming the peer and what to do
};

// The failure at `step`, with `reason`'s name (tls::reason_name).
ProbeFailure probe_failure(ProbeStep step, tls::FailureReason reason, std::string message);

struct OcspStaple {
  bool stapled = false;
  std::string response_status;  // "successful", "unauthorized", ...
  std::string cert_status;      // "good", "revoked", "unknown" ("" without a basic response)
  std::string revocation_reason;
  std::string this_update;  // "2026-11-22 13:15:00 UTC"
  std::string next_update;  // "" when the responder gave none
  // pki::verify_ocsp_response's checks passed: signed by the leaf's issuer
  // (or its delegated responder), about this leaf, current. Otherwise
  // `problem` says which failed, and what the response claims is not trusted.
  bool verified = false;
  std::string problem;
};

struct Resumption {
  bool attempted = false;  // a second connection was made with the first session
  bool resumed = false;
  std::string method;  // "tickets", "session IDs", or "" when not resumed
  std::string detail;  // why not, or what was offered
};

struct ProbeReport {
  std::string target;       // HOST:PORT as given
  std::string address;      // the address connected to, "127.0.0.1:5432"
  std::string server_name;  // the name checked
  bool sni_sent = false;    // SNI is sent for DNS names only
  StartTlsProtocol starttls = StartTlsProtocol::kNone;
  std::vector<Fact> pre_tls;  // what the protocol said before TLS

  bool handshake_done = false;
  std::string version;         // "TLSv1.3"
  std::string cipher;          // IANA name
  std::string cipher_openssl;  // OpenSSL's name
  std::string group;           // key-exchange group, "X25519", "P-256", "ffdhe2048", or ""
  std::string alpn;            // "" when none was negotiated
  bool client_cert_requested = false;
  std::vector<std::string> client_ca_names;  // RFC 2253, as the server listed them
  bool client_cert_sent = false;
  std::vector<pki::X509Ptr> chain;  // as served, leaf first
  std::string trust;                // "--ca FILE" or "the system store"
  bool verified = false;
  std::string verify_reason;   // "" when verified, else a reason word
  std::string verify_message;  // "" when verified, else the sentence
  OcspStaple ocsp;
  Resumption resumption;
  std::optional<ProbeFailure> failure;  // empty when every step passed and the chain verified
};

ProbeReport run_probe(const ProbeOptions& options);

// A TCP connection with the STARTTLS exchange done: what TLS runs over.
struct Channel {
  util::Fd fd;
  std::string address;  // "127.0.0.1:5432"
  std::vector<Fact> pre_tls;
};
// Dials options.target and speaks options.starttls, before `deadline`.
// On failure the facts learned are in failure_facts (if given).
tl::expected<Channel, ProbeFailure> open_channel(const ProbeOptions& options,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 std::vector<Fact>* failure_facts = nullptr);

}  // namespace tlsgate::net
