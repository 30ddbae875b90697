// PebbleServer: Let's Encrypt's ACME test CA (Debian pebble 2.4) on
// 127.0.0.1, with pebble-challtestsrv as its DNS server (every name
// resolves to 127.0.0.1, no AAAA records), for the ACME tests.
//
// Pebble's own HTTPS certificate comes from a CA minted here (ca_bundle()
// is what an ACME client must trust); the certificates pebble issues chain
// to a root it makes at start, fetched by issuing_root_pem() from its
// management port (/roots/0). Validation contacts http_port (HTTP-01) and
// tls_port (TLS-ALPN-01) of the identifier's address: the test serves the
// challenges there. PEBBLE_VA_NOSLEEP=1 (no random validation delay) and
// PEBBLE_WFE_NONCEREJECT=nonce_reject_percent (0 unless asked: pebble's
// own default rejects 5% of good nonces). Ports are chosen once; start()
// waits, bounded, until both servers accept connections. ChildProcesses
// (support/process.h): one test thread uses it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::test {

class PebbleServer {
 public:
  struct Options {
    int http_port = 0;          // httpPort for HTTP-01; 0: a free port chosen here
    int tls_port = 0;           // tlsPort for TLS-ALPN-01; 0: a free port chosen here
    long validity_seconds = 0;  // certificateValidityPeriod; 0: pebble's default (5 years)
    bool eab_required = false;  // externalAccountBindingRequired
    std::map<std::string, std::string> eab_keys;  // kid -> base64url HMAC key
    int nonce_reject_percent = 0;                 // PEBBLE_WFE_NONCEREJECT
    int retry_after_seconds = 1;  // Retry-After of pending authorizations and orders
    std::vector<std::string> server_names = {"127.0.0.1", "localhost"};  // of its HTTPS cert
  };

  PebbleServer();
  explicit PebbleServer(Options options);
  ~PebbleServer();
  PebbleServer(const PebbleServer&) = delete;
  PebbleServer& operator=(const PebbleServer&) = delete;

  // Starts challtestsrv and pebble and waits until both serve: "" then,
  // else why not (with their output). Also after stop(): same ports, but
  // pebble forgets accounts and makes a new root.
  std::string start(Millis deadline = Millis(30000));
  void stop();
  bool running();

  const Options& options() const { return options_; }
  int http_port() const { return options_.http_port; }
  int tls_port() const { return options_.tls_port; }
  int acme_port() const { return acme_port_; }
  // "https://127.0.0.1:PORT/dir".
  std::string directory_url() const;
  // PEM file of the CA of pebble's HTTPS certificate.
  std::filesystem::path ca_bundle() const { return dir_ / "pebble-ca.pem"; }
  // The root pebble issues under (PEM), from its management port; throws
  // std::runtime_error when it cannot be fetched.
  std::string issuing_root_pem() const;
  // What both programs logged so far.
  std::string output() const;
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  Options options_;
  TempDir dir_;
  TestCa ca_;
  int acme_port_ = 0;
  int management_port_ = 0;
  int dns_port_ = 0;
  int dns_management_port_ = 0;
  std::unique_ptr<ChildProcess> dns_;
  std::unique_ptr<ChildProcess> pebble_;
};

}  // namespace tlsgate::test
