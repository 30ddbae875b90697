// tlsgate-loadgen: the benchmark's load generator and backend (bench/README.md).
//   tlsgate-loadgen MODE [--option value]...
// Every mode prints one JSON line of results on stdout.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "modes.h"
#include "util.h"

namespace tlsgate::bench {

int run_freeport(int argc, char** argv) {
  Args args(argc, argv, {"count"}, {});
  long count = args.num("count", 1);
  if (count < 1 || count > 64) die("--count: 1..64");
  std::vector<int> fds;
  std::string list;
  for (long i = 0; i < count; ++i) {
    int fd = listen_tcp("127.0.0.1", 0, 1);
    if (fd < 0) die(std::string("cannot bind a free port: ") + std::strerror(errno));  // NOLINT
    fds.push_back(fd);
    list += (i == 0 ? "" : " ") + std::to_string(local_port(fd));
  }
  for (int fd : fds) ::close(fd);
  std::cout << list << std::endl;
  return 0;
}

// The cost of one trivial system call on this machine (getppid, on the
// caller's core): virtual machines differ by an order of magnitude, and a
// proxy makes dozens per connection.
int run_syscall_cost(int argc, char** argv) {
  Args args(argc, argv, {"count"}, {});
  long count = args.num("count", 200000);
  if (count < 1000 || count > 100'000'000) die("--count: 1000..100000000");
  uint64_t t0 = now_ns();
  for (long i = 0; i < count; ++i) ::syscall(SYS_getppid);
  double ns = static_cast<double>(now_ns() - t0) / static_cast<double>(count);
  std::cout << Json().add("mode", "syscall-cost").add("ns_per_syscall", ns).str() << std::endl;
  return 0;
}

}  // namespace tlsgate::bench

namespace {

constexpr const char* kUsage =
    "usage: tlsgate-loadgen MODE [--option value]...\n"
    "  backend   --port P [--max-seconds S]          plaintext echo/sink/source server\n"
    "  handshake --port P --ca CA [--resume] [--duration S] [--count N] [--concurrency C]\n"
    "  idle      --port P --ca CA [--connections N] [--concurrency C] [--settle-ms MS]\n"
    "  latency   --port P --ca CA [--rate R, 0: closed loop] [--size B] [--duration S] "
    "[--concurrency C]\n"
    "  bulk      --port P --ca CA [--direction down|up] [--duration S]\n"
    "  reload    --port P --ca CA --policy-dir DIR --pairs DIR [--rotations N] [--gap-ms MS]\n"
    "  freeport  [--count N]                          print N free loopback ports\n"
    "  syscall-cost [--count N]                       ns per trivial system call\n"
    "client modes also take --host, --sni and --watch-pid PID[,PID] (CPU and RSS of the\n"
    "system under test from /proc, measured over the run).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace tlsgate::bench;
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string mode = argv[1];
  int n = argc - 2;
  char** rest = argv + 2;
  if (mode == "backend") return run_backend(n, rest);
  if (mode == "handshake") return run_handshake(n, rest);
  if (mode == "idle") return run_idle(n, rest);
  if (mode == "latency") return run_latency(n, rest);
  if (mode == "bulk") return run_bulk(n, rest);
  if (mode == "reload") return run_reload(n, rest);
  if (mode == "freeport") return run_freeport(n, rest);
  if (mode == "syscall-cost") return run_syscall_cost(n, rest);
  if (mode == "--help" || mode == "-h" || mode == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "tlsgate-loadgen: unknown mode '" << mode << "'\n" << kUsage;
  return 2;
}
