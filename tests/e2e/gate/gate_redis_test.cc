// `tlsgate serve` in front of a real, unmodified redis-server: stock
// `redis-cli --tls` talks to it through the gate.
#include <random>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

bool have(const std::string& program) {
  int code = -1;
  test::run_command("command -v " + program + " >/dev/null", &code);
  return code == 0;
}

class GateRedis : public GateFixture {
 protected:
  void SetUp() override {
    GateFixture::SetUp();
    if (HasFatalFailure()) return;
    if (!have("redis-server") || !have("redis-cli"))
      GTEST_SKIP() << "redis-server/redis-cli are not installed";
    redis_port_ = test::free_loopback_port();
    redis_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(redis_port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                 dir_.string()},
        test::ChildProcess::Options{.output_file = dir_ / "redis.log"});
    ASSERT_TRUE(redis_->wait_for_port(redis_port_, Millis(10000))) << redis_->output();
    conf_.set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(redis_port_));
    start_gate();
  }

  void TearDown() override {
    if (HasFailure() && redis_)
      std::cerr << "--- redis ---\n" << redis_->output() << "--- end ---\n";
    GateFixture::TearDown();
  }

  // `redis-cli --tls` through the gate; ARGS is a shell fragment.
  std::string cli(const std::string& args, int* code = nullptr) {
    return test::run_command("timeout 15 redis-cli --tls --cacert " + q(ca_file_) +
                                 " -h 127.0.0.1 -p " + std::to_string(gate_port_) +
                                 " --sni localhost " + args,
                             code);
  }

  int redis_port_ = 0;
  std::unique_ptr<test::ChildProcess> redis_;
};

TEST_F(GateRedis, PingSetAndGetThroughTheGate) {
  int code = -1;
  EXPECT_EQ(cli("PING", &code), "PONG\n");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(cli("SET greeting 'hello over tls'"), "OK\n");
  EXPECT_EQ(cli("--raw GET greeting"), "hello over tls\n");
  // The value really is in the backend: ask it directly, in plaintext.
  EXPECT_EQ(test::run_command("timeout 15 redis-cli -h 127.0.0.1 -p " +
                              std::to_string(redis_port_) + " --raw GET greeting"),
            "hello over tls\n");
  // A plaintext redis-cli is turned away by the gate (tls_level=REQUIRED).
  int plain_code = -1;
  auto plain = test::run_command(
      "timeout 15 redis-cli -h 127.0.0.1 -p " + std::to_string(gate_port_) + " PING", &plain_code);
  EXPECT_EQ(plain.find("PONG"), std::string::npos) << plain;
  EXPECT_TRUE(gate_->wait_for_log("spoke plaintext")) << log();
}

TEST_F(GateRedis, OneMebibyteValueRoundTrips) {
  std::string value(size_t{1024} * 1024, 'x');
  std::mt19937 rng(7);
  const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (auto& c : value) c = alphabet[rng() % (sizeof alphabet - 1)];
  auto in = dir_ / "value.bin";
  test::write_text(in, value);
  EXPECT_EQ(cli("-x SET big < " + q(in)), "OK\n");
  EXPECT_EQ(cli("STRLEN big"), "1048576\n");
  auto out = cli("--raw GET big");
  ASSERT_EQ(out.size(), value.size() + 1);
  EXPECT_TRUE(out.substr(0, value.size()) == value) << "the 1 MiB value came back different";
}

}  // namespace
}  // namespace tlsgate::e2e::gate
