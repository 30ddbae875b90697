// net::http_post and http_get against a real `openssl ocsp` responder: the
// request is made by `openssl ocsp -reqout`, the answer checked by `openssl
// ocsp -respin`, so both ends are OpenSSL's and only the transport is ours.
// The responder is started here (port 0, read back from its ACCEPT line);
// tests/support will hold a shared one later.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using tlsgate::test::ChildProcess;
using tlsgate::test::q;
using tlsgate::test::run_shell;
using tlsgate::test::TempDir;

// A CA, a leaf it issued that the index lists as valid, and a responder
// signing with the CA's key on a port of its own.
class OcspResponder {
 public:
  OcspResponder() {
    auto ca = tlsgate::test::make_test_ca("http client test CA");
    auto leaf = tlsgate::test::make_leaf(ca, {"leaf.test"});
    tlsgate::test::write_cert(dir_ / "ca.pem", ca.ca.cert.get());
    tlsgate::test::write_key(dir_ / "ca.key", ca.ca.key.get());
    tlsgate::test::write_cert(dir_ / "leaf.pem", leaf.cert.get());
    auto serial = run_shell("openssl x509 -in leaf.pem -noout -serial", dir_.path(), 15000ms);
    if (serial.code != 0 || serial.out.rfind("serial=", 0) != 0)
      throw std::runtime_error("openssl x509 -serial: " + serial.err);
    std::string hex = serial.out.substr(7, serial.out.find_first_of("\r\n") - 7);
    std::time_t tomorrow = std::time(nullptr) + 86400;
    std::tm utc{};
    ::gmtime_r(&tomorrow, &utc);
    char expiry[32];
    std::strftime(expiry, sizeof expiry, "%y%m%d%H%M%SZ", &utc);
    tlsgate::test::write_text(dir_ / "index.txt", std::string("V\t") + expiry + "\t\t" + hex +
                                                      "\tunknown\t/CN=leaf.test\n");
    auto request =
        run_shell("openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout request.der",
                  dir_.path(), 15000ms);
    if (request.code != 0) throw std::runtime_error("openssl ocsp -reqout: " + request.err);

    process_.emplace(
        std::vector<std::string>{"openssl", "ocsp", "-index", "index.txt", "-port", "0", "-rsigner",
                                 "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem"},
        ChildProcess::Options{.cwd = dir_.path()});
    // "ACCEPT [::]:38801 PID=1234" (or 0.0.0.0:PORT without IPv6)
    auto line = process_->wait_for_line("ACCEPT ", 15000ms);
    auto colon = line ? line->rfind(':', line->find(' ')) : std::string::npos;
    if (colon == std::string::npos)
      throw std::runtime_error("openssl ocsp did not say its port: " + process_->output());
    port_ = static_cast<uint16_t>(std::stoi(line->substr(colon + 1)));
  }

  uint16_t port() const { return port_; }
  const TempDir& dir() const { return dir_; }
  std::string request() const { return tlsgate::test::read_text(dir_ / "request.der"); }

  // What `openssl ocsp -respin` says of a response for the leaf.
  std::string check(const std::string& response) const {
    tlsgate::test::write_text(dir_ / "response.der", response);
    auto r = run_shell(
        "openssl ocsp -respin response.der -issuer ca.pem -cert leaf.pem -CAfile ca.pem -no_nonce",
        dir_.path(), 15000ms);
    return r.out + r.err;
  }

 private:
  TempDir dir_;
  std::optional<ChildProcess> process_;
  uint16_t port_ = 0;
};

struct OcspOutcome {
  int calls = 0;
  std::optional<util::Result<HttpResponse>> result;
};

void run_until_answered(asio::io_context& io, const OcspOutcome& outcome) {
  auto end = std::chrono::steady_clock::now() + 15s;
  while (outcome.calls == 0 && std::chrono::steady_clock::now() < end) {
    if (io.run_one_for(50ms) == 0 && io.stopped()) break;
  }
}

util::HttpUrl responder_url(const std::string& text) {
  auto u = util::parse_http_url(text);
  if (!u) throw std::runtime_error(u.error().message());
  return *u;
}

// RFC 6960 A.1: the GET form carries the DER request base64-encoded, then URL-encoded.
std::string get_path(const std::string& der) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < der.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(der[i]) << 16;
    if (i + 1 < der.size()) n |= static_cast<uint32_t>(static_cast<uint8_t>(der[i + 1])) << 8;
    if (i + 2 < der.size()) n |= static_cast<uint8_t>(der[i + 2]);
    b64 += kAlphabet[(n >> 18) & 63];
    b64 += kAlphabet[(n >> 12) & 63];
    b64 += i + 1 < der.size() ? kAlphabet[(n >> 6) & 63] : '=';
    b64 += i + 2 < der.size() ? kAlphabet[n & 63] : '=';
  }
  std::string path = "/";
  for (char c : b64) {
    if (c == '+')
      path += "%2B";
    else if (c == '/')
      path += "%2F";
    else if (c == '=')
      path += "%3D";
    else
      path += c;
  }
  return path;
}

TEST(HttpClientOcsp, PostToOpensslOcspGetsAVerifiableGoodAnswer) {
  OcspResponder responder;
  asio::io_context io{1};
  OcspOutcome outcome;
  auto exchange = http_post(
      io, responder_url("http://127.0.0.1:" + std::to_string(responder.port()) + "/"),
      "application/ocsp-request", responder.request(), {}, [&](util::Result<HttpResponse> r) {
        ++outcome.calls;
        outcome.result = std::move(r);
      });
  run_until_answered(io, outcome);
  ASSERT_EQ(outcome.calls, 1);
  ASSERT_TRUE(*outcome.result) << outcome.result->error().message();
  EXPECT_EQ((*outcome.result)->status, 200);
  EXPECT_EQ((*outcome.result)->content_type, "application/ocsp-response");
  auto said = responder.check((*outcome.result)->body);
  EXPECT_THAT(said, HasSubstr("Response verify OK"));
  EXPECT_THAT(said, HasSubstr("leaf.pem: good"));
}

TEST(HttpClientOcsp, GetFormOfRfc6960Works) {
  OcspResponder responder;
  asio::io_context io{1};
  OcspOutcome outcome;
  auto exchange = http_get(io,
                           responder_url("http://127.0.0.1:" + std::to_string(responder.port()) +
                                         get_path(responder.request())),
                           {}, [&](util::Result<HttpResponse> r) {
                             ++outcome.calls;
                             outcome.result = std::move(r);
                           });
  run_until_answered(io, outcome);
  ASSERT_EQ(outcome.calls, 1);
  ASSERT_TRUE(*outcome.result) << outcome.result->error().message();
  EXPECT_EQ((*outcome.result)->content_type, "application/ocsp-response");
  EXPECT_THAT(responder.check((*outcome.result)->body), HasSubstr("leaf.pem: good"));
}

}  // namespace
}  // namespace tlsgate::net
