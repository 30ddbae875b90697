// Certificate rotation under a steady publish loop (nats.go, 200 msg/s):
// the gate reloads, new handshakes get the new certificate, and the loop
// loses no message and no connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "e2e/nats/nats_gate_fixture.h"
#include "pki/certificate_info.h"
#include "util/clock.h"

namespace tlsgate::e2e::nats {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string serial_of(const X509* cert) {
  return pki::describe(cert, util::SystemClock::instance()).serial_hex;
}

// "0A:1B" and "a1b" alike: lower case, no colons, no leading zeros.
std::string normal_hex(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  s.erase(0, std::min(s.find_first_not_of('0'), s.size()));
  return s;
}

class NatsReloadTest : public NatsGateFixture {};

TEST_F(NatsReloadTest, RotationUnderSteadyPublishingLosesNothing) {
  start_gate();
  const std::string first = serial_of(gate_cert_.cert.get());
  const auto stop = dir_ / "stop";
  test::ChildProcess steady(
      {client_binary().string(), "steady", "-addr", "127.0.0.1:" + std::to_string(gate_port_),
       "-ca", ca_file_.string(), "-rate", "200", "-stop", stop.string(), "-timeout", "60s"},
      {});
  ASSERT_TRUE(steady.wait_for_output("SENT 400", 20s)) << steady.output();

  // Rotate: a new certificate and key, written aside and renamed into place.
  auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  test::write_key(policy_dir_ / ".private.key.new", leaf.key.get());
  test::write_cert(policy_dir_ / ".public.crt.new", leaf.cert.get());
  std::filesystem::rename(policy_dir_ / ".private.key.new", policy_dir_ / "private.key");
  std::filesystem::rename(policy_dir_ / ".public.crt.new", policy_dir_ / "public.crt");
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a file change: certificate serial " + first, 10s))
      << log();
  auto r = client("tlsfirst", verified() + " -n 10 -subject tlsgate.probe");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("serial " + normal_hex(serial_of(leaf.cert.get())) + ","));

  // Another second of publishing after the reload, then stop and count.
  const auto out = steady.output();
  const auto at = out.rfind("SENT ");
  ASSERT_NE(at, std::string::npos) << out;
  const long last = std::stol(out.substr(at + 5));
  ASSERT_TRUE(steady.wait_for_output("SENT " + std::to_string(last + 200) + "\n", 20s))
      << steady.output();
  test::write_text(stop, "");
  ASSERT_EQ(steady.wait_exit(30s), 0) << steady.output();
  EXPECT_THAT(steady.output(), HasSubstr("reconnects 0"));
  EXPECT_THAT(steady.output(), HasSubstr("OK steady sent"));
}

}  // namespace
}  // namespace tlsgate::e2e::nats
