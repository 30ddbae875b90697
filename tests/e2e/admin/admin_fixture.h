// AdminGate: `tlsgate serve` with one echo connector (policy "gate",
// client_auth OPTIONAL) and the admin listener on (policy "admin",
// client_auth REQUIRE, identity_from cn), plus the plaintext metrics
// listener. Client certificates minted per test: "ops" (allowed), "viewer"
// (read-only), "stranger" (trusted CA, in no list), "mallory" (a CA nobody
// trusts). Callers are real: curl, openssl s_client, promtool.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "support/echo_server.h"
#include "support/gate_test.h"

namespace tlsgate::e2e::admin {

struct Http {
  int status = 0;  // 0: no HTTP answer (handshake refused, connection closed)
  std::string body;
  int curl_exit = 0;
  std::string err;
};

// A TLS client connection held open through the echo connector.
class HeldClient {
 public:
  explicit HeldClient(int port);  // connects, handshakes, and echoes one line
  ~HeldClient();
  HeldClient(const HeldClient&) = delete;
  HeldClient& operator=(const HeldClient&) = delete;
  bool established() const { return established_; }
  // True when the gate closed it within 5 s (a read ends without data).
  bool closed_by_peer();

 private:
  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX, SSL: kept out of this header's includes
  void* ssl_ = nullptr;
  bool established_ = false;
};

class AdminGate : public test::GateTest {
 protected:
  AdminGate() : GateTest("admin e2e CA", std::filesystem::path("certs") / "gate") {}
  void SetUp() override;

  // curl over HTTPS to the admin listener as `who` ("" = no client
  // certificate); `body` is sent from a file when not empty.
  Http call(const std::string& who, const std::string& method, const std::string& path,
            const std::string& body = "", const std::string& extra = "");
  // GET /metrics on the plaintext listener.
  std::string metrics();
  // The value of one sample of /metrics (exact name{labels}), or nullopt.
  std::optional<double> metric(const std::string& series);
  // Serial of the certificate the echo connector serves now ("" on failure).
  std::string served_serial();
  // A TLS round trip through the echo connector (the data path serves).
  bool data_path_serves();
  // A client with `who`'s certificate through the echo connector; true when it was served.
  bool connect_as(const std::string& who);

  test::EchoServer echo_;
  std::filesystem::path clients_;  // who.crt / who.key
};

}  // namespace tlsgate::e2e::admin
