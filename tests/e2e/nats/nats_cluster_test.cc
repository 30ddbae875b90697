// A 3-node nats-server cluster behind three gates (three tlsgate processes,
// one per node): the INFO lines a client gets, first and later (when a node
// joins), name only the gates' advertise addresses; nats.go learns only
// those; payloads holding "INFO {" pass intact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "e2e/nats/nats_gate_fixture.h"
#include "support/loopback.h"

namespace tlsgate::e2e::nats {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class NatsClusterTest : public NatsGateFixture {};

TEST_F(NatsClusterTest, ClientsSeeOnlyTheGatesAddresses) {
  std::array<int, 3> client_port{}, route_port{}, gate_port{};
  for (int i = 0; i < 3; ++i) {
    client_port[i] = test::free_loopback_port();
    route_port[i] = test::free_loopback_port();
    gate_port[i] = i == 0 ? gate_port_ : test::free_loopback_port();
  }
  auto node = [&](int i) {
    std::string routes;
    for (int j = 0; j < 3; ++j) {
      if (j == i) continue;
      routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") +
                std::to_string(route_port[j]);
    }
    return std::make_unique<NatsServer>(
        dir_ / ("node" + std::to_string(i + 1) + ".log"),
        std::vector<std::string>{"--cluster_name", "tg", "--cluster",
                                 "nats://127.0.0.1:" + std::to_string(route_port[i]), "--routes",
                                 routes},
        client_port[i]);
  };
  std::string advertise;
  for (int p : gate_port)
    advertise += (advertise.empty() ? "" : ";") + ("127.0.0.1:" + std::to_string(p));
  auto gate_conf = [&](int i) {
    test::GateConfig c = conf_;
    c["connector.nc.listen_address"] = "127.0.0.1:" + std::to_string(gate_port[i]);
    c["connector.nc.upstream_address"] = "127.0.0.1:" + std::to_string(client_port[i]);
    c["connector.nc.advertise"] = advertise;
    return c;
  };
  nats_.reset();  // the fixture's single server is not part of this cluster
  auto n1 = node(0);
  auto n2 = node(1);
  ASSERT_TRUE(n1->wait_for_log("Route connection created", 10s)) << n1->log();
  conf_ = gate_conf(0);
  start_gate();
  std::vector<std::unique_ptr<test::GateProcess>> others;
  for (int i = 1; i < 3; ++i) {
    others.push_back(std::make_unique<test::GateProcess>(dir_, gate_conf(i).text(),
                                                         "gate" + std::to_string(i + 1)));
    ASSERT_EQ(others.back()->wait_serving(gate_port[i]), "");
  }

  // A client of gate 1 waits for a second INFO: the one node 3's arrival causes.
  test::ChildProcess watch(
      {client_binary().string(), "watch", "-addr", "127.0.0.1:" + std::to_string(gate_port_), "-ca",
       ca_file_.string(), "-infos", "2", "-timeout", "30s"},
      {});
  ASSERT_TRUE(gate_->wait_for_log("NATS client: TLS first", 10s)) << log();
  auto n3 = node(2);
  ASSERT_EQ(watch.wait_exit(40s), 0) << watch.output();
  const std::string out = watch.output();

  std::string urls = "\"connect_urls\":[";
  for (int i = 0; i < 3; ++i) {
    urls += (i ? "," : "") + ("\"127.0.0.1:" + std::to_string(gate_port[i]) + "\"");
  }
  urls += "]";
  size_t info_lines = 0;
  for (size_t at = out.find("INFO-LINE "); at != std::string::npos;
       at = out.find("INFO-LINE ", at + 1)) {
    ++info_lines;
    auto line = out.substr(at, out.find('\n', at) - at);
    EXPECT_THAT(line, HasSubstr(urls));
    EXPECT_THAT(line, HasSubstr("\"port\":" + std::to_string(gate_port_)));
  }
  EXPECT_GE(info_lines, 2u) << out;
  for (int i = 0; i < 3; ++i) {
    for (int p : {client_port[i], route_port[i]}) {
      EXPECT_EQ(out.find(":" + std::to_string(p)), std::string::npos)
          << "backend port " << p << " reached the client:\n"
          << out;
    }
  }
  EXPECT_THAT(out, HasSubstr("SERVERS nats://127.0.0.1:" + std::to_string(gate_port_)));
  EXPECT_THAT(out, HasSubstr("OK watch"));

  // Every gate serves its node; payloads that look like INFO pass intact.
  for (int i = 0; i < 3; ++i) {
    auto r = client("pubsub", gate_port[i], verified() + " -n 200");
    EXPECT_EQ(r.code, 0) << r.out;
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(r.out.find(":" + std::to_string(client_port[j])), std::string::npos) << r.out;
    }
  }
}

}  // namespace
}  // namespace tlsgate::e2e::nats
