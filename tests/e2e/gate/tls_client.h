// Clients of the gate's end-to-end tests: a plaintext TCP client and an
// in-process OpenSSL client on non-blocking sockets to 127.0.0.1, every call
// bounded by a timeout (poll(), never a sleep); and refused(), which tells
// whether the gate turned a TLS client away. One thread per client.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/process.h"
#include "tls/ssl_handles.h"
#include "util/fd.h"

namespace tlsgate::e2e::gate {

using test::Millis;

// How a read ended.
enum class End { kData, kCloseNotify, kClosed, kTimeout };
const char* to_string(End e);

struct ReadResult {
  std::string data;
  End end = End::kData;
  std::string error;  // OpenSSL or errno text when closed abnormally
};

// A plaintext TCP client.
class PlainClient {
 public:
  explicit PlainClient(int port);

  bool connected() const { return fd_.valid(); }
  bool write_all(std::string_view data, Millis timeout = Millis(5000));
  // Reads until `want` bytes arrived, EOF/reset, or the timeout.
  ReadResult read(size_t want, Millis timeout = Millis(5000));
  void shutdown_write();

 private:
  util::Fd fd_;
};

struct TlsClientOptions {
  std::filesystem::path ca_file;              // trusted CA; empty: no verification
  std::filesystem::path cert_file, key_file;  // client certificate, if any
  std::string server_name = "localhost";      // SNI and the name checked
  int min_version = 0, max_version = 0;       // TLS1_2_VERSION, TLS1_3_VERSION
  std::string cipher_list;                    // TLS 1.2
  std::string ciphersuites;                   // TLS 1.3
  std::string groups;
};

// An in-process OpenSSL client on a non-blocking socket; every call waits
// with poll() up to its timeout.
class TlsClient {
 public:
  // Connects to 127.0.0.1:port and completes the handshake: "" or why not.
  std::string connect(int port, const TlsClientOptions& o, Millis timeout = Millis(5000));

  SSL* ssl() const { return ssl_.get(); }
  // The client's own port (the source port the gate sees).
  int local_port() const;
  // Drops the connection with a TCP reset (SO_LINGER 0), no close_notify.
  void reset();

  bool write_all(std::string_view data, Millis timeout = Millis(5000));
  // Reads until `want` bytes arrived, the stream ended, or the timeout.
  ReadResult read(size_t want, Millis timeout = Millis(5000));
  // Everything until the stream ends (or the timeout).
  ReadResult read_to_end(Millis timeout = Millis(5000)) { return read(SIZE_MAX, timeout); }
  // Sends close_notify (SSL_shutdown, one direction) and keeps the socket
  // open for reading: the TLS half-close.
  bool shutdown_write(Millis timeout = Millis(5000));

  // Sends `text` and expects exactly it back.
  ::testing::AssertionResult echoes(const std::string& text, Millis timeout = Millis(5000));

  // Sends data in both directions at once: writes `total` bytes of `pattern`
  // (repeated), half-closes, and reads until the peer's close_notify, checking
  // every byte received against what was sent. Returns "" or the mismatch.
  std::string stream_echo(const std::string& pattern, size_t total, Millis timeout);

 private:
  bool wait(int ssl_error, std::chrono::steady_clock::time_point until);

  tls::SslCtxPtr ctx_;
  tls::SslPtr ssl_;
  util::Fd fd_;
};

// Whether the gate refused a TLS client: the handshake failed, or it
// completed (TLS 1.3 verifies the client's certificate after the client is
// done) but the first echo never came and the connection closed.
::testing::AssertionResult refused(int port, const TlsClientOptions& o);

}  // namespace tlsgate::e2e::gate
