// Small helpers shared by the load generator's modes: clocks, command-line
// options, a flat JSON object writer, percentiles and non-blocking sockets.
// Everything here is single-threaded; nothing keeps global state except the
// OpenSSL error queue that errors drains.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

namespace tlsgate::bench {

// CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds.
uint64_t now_ns();
uint64_t wall_ns();
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kMilli = 1'000'000;

// Prints "tlsgate-loadgen: MESSAGE" to stderr and exits with status 2.
[[noreturn]] void die(const std::string& message);

// OpenSSL's error queue as one line (and empties it).
std::string openssl_errors();

// --name value options of one mode. A name not in `known` is an error, as is
// a value that does not parse; `flags` take no value.
class Args {
 public:
  Args(int argc, char** argv, const std::vector<std::string>& known,
       const std::vector<std::string>& flags);
  std::string str(const std::string& name, const std::string& fallback) const;
  long num(const std::string& name, long fallback) const;
  double real(const std::string& name, double fallback) const;
  bool flag(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

// One JSON object, written in insertion order on one line.
class Json {
 public:
  Json& add(const std::string& key, const std::string& value);
  Json& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  Json& add(const std::string& key, double value);
  Json& add(const std::string& key, uint64_t value);
  Json& add(const std::string& key, int64_t value);
  Json& add(const std::string& key, int value) { return add(key, static_cast<int64_t>(value)); }
  Json& add(const std::string& key, bool value);
  Json& add_raw(const std::string& key, const std::string& json);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_;
};

std::string json_quote(const std::string& s);

// Latency percentiles (microseconds) of samples in nanoseconds; sorts them.
void add_percentiles(Json& out, std::vector<uint64_t>& samples_ns, const std::string& prefix);

// Non-blocking sockets on IPv4 addresses; -1 with errno on failure.
int listen_tcp(const std::string& host, uint16_t port, int backlog);
uint16_t local_port(int fd);
// Starts a non-blocking connect; *connected is true when it finished at once.
int connect_tcp(const std::string& host, uint16_t port, bool* connected);
void set_nodelay(int fd);

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Client context of every mode: TLS 1.3 only, TLS_AES_128_GCM_SHA256, X25519,
// the server verified against `ca_file` (unless empty) with SNI and hostname.
SslCtxPtr make_client_ctx(const std::string& ca_file);

// The serial number of a certificate in hex, as BN_bn2hex prints it.
std::string serial_hex(const X509* cert);

}  // namespace tlsgate::bench
