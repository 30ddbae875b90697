// `tlsgate serve`, protocol=tcp: bytes through the gate to a plaintext echo
// backend — with the openssl CLI, a 100 MiB stream, and the TLS half-close.
#include <random>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

class GateData : public GateFixture {};

TEST_F(GateData, SClientRoundTripsThroughTheGateToTheBackend) {
  start_gate();
  auto sc = start_s_client();
  ASSERT_TRUE(sc->wait_for_output("Verify return code: 0 (ok)", Millis(10000))) << sc->output();
  ASSERT_TRUE(sc->write_stdin("hello through the gate\n"));
  EXPECT_TRUE(sc->wait_for_output("hello through the gate", Millis(10000))) << sc->output();
  ASSERT_TRUE(sc->write_stdin("second line\n"));
  EXPECT_TRUE(sc->wait_for_output("second line", Millis(10000))) << sc->output();
  sc->close_stdin();  // s_client sends close_notify and exits
  EXPECT_EQ(sc->wait_exit(Millis(10000)), 0) << sc->output();
  EXPECT_GE(echo_.accepted(), 1);
  EXPECT_EQ(echo_.echoed_bytes(),
            static_cast<long long>(std::string("hello through the gate\nsecond line\n").size()));
  // The handshake is logged at debug with version and cipher.
  EXPECT_TRUE(gate_->wait_for_log("TLS handshake done: TLSv1.3")) << log();
}

TEST_F(GateData, HundredMebibytesAreByteExactBothWays) {
  start_gate();
  // A pseudo-random pattern whose length is not a power of two, so record,
  // buffer and pattern boundaries never line up.
  std::string pattern(1024 * 1024 + 7, '\0');
  std::mt19937 rng(20240601);
  for (auto& c : pattern) c = static_cast<char>(rng());
  constexpr size_t kTotal = 100ULL * 1024 * 1024;

  TlsClient client;
  ASSERT_EQ(client.connect(gate_port_, client_options()), "");
  auto start = Clock::now();
  // Writes and reads at once, half-closes after the last byte, and checks
  // every byte echoed back; ends at the backend's close_notify.
  auto err = client.stream_echo(pattern, kTotal, Millis(45000));
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - start).count();
  EXPECT_EQ(err, "") << "after " << took << " ms";
  EXPECT_EQ(echo_.echoed_bytes(), static_cast<long long>(kTotal));
  std::cerr << "100 MiB echoed through the gate in " << took << " ms\n";
}

class GateHalfClose : public GateFixture, public ::testing::WithParamInterface<int> {};

// Under TLS 1.3 and TLS 1.2 alike.
TEST_P(GateHalfClose, StillDeliversTheEchoedRemainder) {
  start_gate();
  TlsClient client;
  auto o = client_options();
  o.min_version = o.max_version = GetParam();
  ASSERT_EQ(client.connect(gate_port_, o), "");
  ASSERT_EQ(SSL_version(client.ssl()), GetParam());
  // Enough data that much of it is still in flight when the client closes
  // its side; the client reads nothing before it half-closes.
  std::string payload;
  for (int i = 0; payload.size() < size_t{200} * 1024; ++i)
    payload += "line " + std::to_string(i) + "\n";
  payload += "the last words";
  ASSERT_TRUE(client.write_all(payload));
  ASSERT_TRUE(client.shutdown_write());  // close_notify: no more data from the client

  auto r = client.read_to_end(Millis(10000));
  EXPECT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "the echoed bytes differ";
  // The backend half-closed after the echo; the gate turned its FIN into a close_notify.
  EXPECT_EQ(r.end, End::kCloseNotify) << to_string(r.end) << " " << r.error;
  EXPECT_TRUE(gate_->wait_for_log("closed by both sides")) << log();
}

INSTANTIATE_TEST_SUITE_P(GateTlsVersions, GateHalfClose,
                         ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& version) {
                           return std::string(version.param == TLS1_3_VERSION ? "Tls13" : "Tls12");
                         });

TEST_F(GateData, ManyConcurrentClientsEachGetTheirOwnBytes) {
  start_gate();
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TlsClient>());
    ASSERT_EQ(clients.back()->connect(gate_port_, client_options()), "") << "client " << i;
  }
  // Interleave: every client writes before any reads.
  for (int i = 0; i < kClients; ++i)
    ASSERT_TRUE(clients[i]->write_all("client " + std::to_string(i) + ";"));
  for (int i = 0; i < kClients; ++i) {
    std::string want = "client " + std::to_string(i) + ";";
    EXPECT_EQ(clients[i]->read(want.size()).data, want);
  }
  EXPECT_EQ(echo_.accepted(), kClients);
}

TEST_F(GateData, ClientThatResetsMidStreamCostsOnlyItsOwnConnection) {
  start_gate();
  TlsClient bystander;
  ASSERT_EQ(bystander.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(bystander.echoes("before\n"));
  for (int round = 0; round < 3; ++round) {
    TlsClient rude;
    ASSERT_EQ(rude.connect(gate_port_, client_options()), "");
    // Send a lot and read nothing, so the gate is blocked writing the echo
    // back to this client when it resets the connection.
    std::string chunk(size_t{256} * 1024, 'r');
    for (int i = 0; i < 16 && rude.write_all(chunk, Millis(300)); ++i) {
    }
    rude.reset();
  }
  // The process is alive and the other connection is unaffected.
  EXPECT_TRUE(bystander.echoes("after\n"));
  EXPECT_TRUE(gate_->running()) << log();
  TlsClient next;
  ASSERT_EQ(next.connect(gate_port_, client_options()), "");
  EXPECT_TRUE(next.echoes("new client\n"));
}

}  // namespace
}  // namespace tlsgate::e2e::gate
