// `tlsgate serve` socket-activated (sd_listen_fds(3), as tlsgate.socket
// does it): a launcher binds and listens on the connector's address without
// SO_REUSEPORT, so the gate could not bind it itself, puts the socket on fd
// 3, sets LISTEN_FDS=1 and LISTEN_PID to its own pid and execs the gate.
// The gate serves on that socket; with LISTEN_PID naming another process it
// leaves fd 3 alone and its own bind fails.
#include "gate_fixture.h"
#include "support/process.h"

namespace tlsgate::e2e::gate {
namespace {

// argv: PORT LISTEN_PID("self" or a number) PROGRAM ARGS...
constexpr const char* kLauncher = R"(
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid()) if sys.argv[2] == "self" else sys.argv[2]
os.execv(sys.argv[3], sys.argv[3:])
)";

class GateSocketActivation : public GateFixture {
 protected:
  std::unique_ptr<test::ChildProcess> launch(const std::string& listen_pid) {
    test::write_text(dir_ / "tlsgate.conf", conf_.text());
    test::ChildProcess::Options o;
    o.output_file = dir_ / "gate.log";
    return std::make_unique<test::ChildProcess>(
        std::vector<std::string>{"python3", "-c", kLauncher, std::to_string(gate_port_), listen_pid,
                                 test::GateProcess::binary(), "serve", "-c",
                                 (dir_ / "tlsgate.conf").string(), "--allow-root"},
        o);
  }
};

TEST_F(GateSocketActivation, ServesOnTheInheritedSocket) {
  auto gate = launch("self");
  ASSERT_TRUE(gate->wait_for_output("tlsgate serving", Millis(15000))) << gate->output();
  EXPECT_NE(gate->output().find("connector.echo.listen_address: using the listening socket "
                                "systemd passed (fd 3)"),
            std::string::npos)
      << gate->output();

  auto sc = start_s_client();
  ASSERT_TRUE(sc->wait_for_output("Verify return code: 0 (ok)", Millis(10000))) << sc->output();
  ASSERT_TRUE(sc->write_stdin("activated\n"));
  EXPECT_TRUE(sc->wait_for_output("activated", Millis(10000))) << sc->output();
  sc->close_stdin();
  EXPECT_EQ(sc->wait_exit(Millis(10000)), 0) << sc->output();
  EXPECT_EQ(echo_.echoed_bytes(), static_cast<long long>(std::string("activated\n").size()));
}

TEST_F(GateSocketActivation, SocketsMeantForAnotherProcessAreNotTaken) {
  auto gate = launch("1");
  auto code = gate->wait_exit(Millis(15000));
  ASSERT_TRUE(code.has_value()) << gate->output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(gate->output().find("connector.echo.listen_address: cannot listen on 127.0.0.1:" +
                                std::to_string(gate_port_)),
            std::string::npos)
      << gate->output();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
