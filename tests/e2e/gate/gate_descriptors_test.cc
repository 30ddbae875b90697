// `tlsgate serve` under a low file descriptor limit (RLIMIT_NOFILE, set with
// prlimit before exec): the soft limit is raised to the hard one, a shortfall
// against max_connections is warned about at start, and clients beyond what
// the descriptors allow are refused before their TLS handshake while the
// connections already in keep working.
#include <poll.h>

#include <fstream>
#include <regex>

#include "gate_fixture.h"
#include "net/fd_budget.h"

namespace tlsgate::e2e::gate {
namespace {

class GateDescriptors : public GateFixture {
 protected:
  // Starts the gate with RLIMIT_NOFILE soft:hard and waits until it serves.
  void start_limited(const std::string& nofile) {
    test::write_text(dir_ / "tlsgate.conf", conf_.text());
    child_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{"prlimit", "--nofile=" + nofile, test::GateProcess::binary(),
                                 "serve", "-c", (dir_ / "tlsgate.conf").string(), "--allow-root"},
        test::ChildProcess::Options{.output_file = dir_ / "gate.log"});
    ASSERT_TRUE(child_->wait_for_port(gate_port_, Millis(10000))) << child_->output();
    ASSERT_TRUE(child_->wait_for_output("tlsgate serving", Millis(10000))) << child_->output();
  }

  // "Max open files  SOFT  HARD  files" of the gate process.
  std::string open_files_limits() const {
    std::ifstream in("/proc/" + std::to_string(child_->pid()) + "/limits");
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("Max open files")) return line;
    }
    return "";
  }

  std::string gate_log() const { return child_ ? child_->output() : ""; }

  void TearDown() override {
    GateFixture::TearDown();
    if (child_ && (HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr)) {  // NOLINT
      std::cerr << "--- gate log ---\n" << child_->output() << "--- end ---\n";
    }
  }

  std::unique_ptr<test::ChildProcess> child_;
};

TEST_F(GateDescriptors, SoftLimitIsRaisedToTheHardOne) {
  conf_.set("connector.echo.max_connections", "100");  // 264 descriptors: fits in 4096
  start_limited("64:4096");
  std::smatch m;
  std::string limits = open_files_limits();
  ASSERT_TRUE(std::regex_search(limits, m, std::regex(R"(Max open files\s+(\d+)\s+(\d+))")))
      << limits;
  EXPECT_EQ(m[1], "4096") << limits;
  EXPECT_NE(gate_log().find("file descriptors: limit 4096 (RLIMIT_NOFILE)"), std::string::npos)
      << gate_log();
  EXPECT_EQ(gate_log().find("may need"), std::string::npos) << gate_log();
  // What the gate holds at start fits in the headroom the warnings count
  // (less the reserve kept for what comes and goes): one connector, 2 workers.
  std::string log_text = gate_log();
  ASSERT_TRUE(std::regex_search(log_text, m, std::regex(R"(RLIMIT_NOFILE\), (\d+) open)")))
      << log_text;
  EXPECT_LE(std::stoull(m[1]), net::fd_headroom(1, 2) - net::FdBudget::kReserve) << log_text;
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "") << gate_log();
  EXPECT_TRUE(c.echoes("raised\n"));
}

TEST_F(GateDescriptors, ClientsBeyondTheLimitAreRefusedBeforeTheirHandshake) {
  conf_.set("server.worker_threads", "1").set("server.log_level", "info");
  start_limited("64:64");
  EXPECT_NE(gate_log().find("file descriptors: connector.echo.max_connections=10000 may need "
                            "20037 (2 per connection, and 37 for the gate itself: 5 on each of "
                            "its 1 worker thread(s) (server.worker_threads) and 32 more), but "
                            "the limit (RLIMIT_NOFILE) is 64; clients beyond it are refused. "
                            "Raise LimitNOFILE (systemd) / ulimit -n to 20037 or lower "
                            "connector.echo.max_connections"),
            std::string::npos)
      << gate_log();
  std::smatch m;
  std::string log_text = gate_log();
  ASSERT_TRUE(std::regex_search(log_text, m, std::regex(R"(room for (\d+) connections)")))
      << log_text;
  const int room = std::stoi(m[1]);
  ASSERT_GE(room, 3) << log_text;

  // One client after the other until three in a row are refused.
  std::vector<std::unique_ptr<TlsClient>> admitted;
  int refused = 0;
  for (int i = 0; i < room + 10 && refused < 3; ++i) {
    auto c = std::make_unique<TlsClient>();
    auto t0 = Clock::now();
    auto err = c->connect(gate_port_, client_options(), Millis(3000));
    if (err.empty()) {
      ASSERT_EQ(refused, 0) << "client " << i << " got in after a refusal\n" << gate_log();
      ASSERT_TRUE(c->echoes("client " + std::to_string(i) + "\n")) << gate_log();
      admitted.push_back(std::move(c));
      continue;
    }
    ++refused;
    // Closed at accept: the handshake fails on a closed connection, at once.
    EXPECT_NE(err.find("handshake failed"), std::string::npos) << err << "\n" << gate_log();
    EXPECT_LT(ms_since(t0), 1500) << err;
  }
  EXPECT_EQ(refused, 3) << gate_log();
  EXPECT_GE(admitted.size() + 1, static_cast<size_t>(room)) << "the reserve is too large";
  EXPECT_LE(admitted.size(), static_cast<size_t>(room));
  EXPECT_TRUE(child_->wait_for_output(
      "connection(s) refused so far: out of file descriptors (limit 64, RLIMIT_NOFILE); raise "
      "LimitNOFILE (systemd) / ulimit -n or lower connector.echo.max_connections",
      Millis(5000)))
      << gate_log();
  EXPECT_EQ(gate_log().find("Too many open files"), std::string::npos) << gate_log();

  // The clients already in still echo; once one leaves, a new one gets in.
  for (auto& c : admitted) EXPECT_TRUE(c->echoes("still here\n"));
  ASSERT_TRUE(admitted.back()->shutdown_write());
  EXPECT_EQ(admitted.back()->read_to_end().end, End::kCloseNotify);
  admitted.pop_back();
  bool next_in = false;
  for (int attempt = 0; attempt < 50 && !next_in; ++attempt) {  // the slot frees asynchronously
    TlsClient next;
    next_in =
        next.connect(gate_port_, client_options(), Millis(2000)).empty() && next.echoes("next\n");
    if (!next_in) ::poll(nullptr, 0, 20);
  }
  EXPECT_TRUE(next_in) << gate_log();
  EXPECT_TRUE(child_->running());
}

}  // namespace
}  // namespace tlsgate::e2e::gate
