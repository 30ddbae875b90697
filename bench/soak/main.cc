// tlsgate-soak: load and hostility at scale against one `tlsgate serve`
// (bench/README.md, "Soak"). Five phases, each with its own gate and
// backend: connections, hostile, badcert, churn, descriptors. Each prints one JSON line
// with its figures and checks; a last line sums up. Exit status: 0 when
// every check passed, 1 when one did not, 2 on bad usage or when the soak
// itself could not run.
//
//   tlsgate-soak --tlsgate PATH [--scale full|ci] [--phases LIST] [--work DIR]
//                [--keep] [--out FILE] [--NUMBER-OPTION VALUE]...
//   tlsgate-soak ... --phases hostile --peer nginx   (nginx in the gate's place)
//   tlsgate-soak backend --port P [--max-seconds S]   (the backend it starts)
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "modes.h"
#include "phases.h"
#include "process.h"

namespace tlsgate::bench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: tlsgate-soak --tlsgate PATH [--scale full|ci]\n"
    "                    [--phases connections,hostile,badcert,churn,descriptors]\n"
    "                    [--work DIR] [--keep] [--out FILE]\n"
    "                    [--connections N] [--hold S] [--slowloris N] [--silent N]\n"
    "                    [--nonreaders N] [--hostile S] [--bad-handshakes N]\n"
    "                    [--backend-kills N] [--sighup-for S]\n"
    "                    [--peer nginx (with --phases hostile: its latency figures)]\n"
    "       tlsgate-soak backend --port P [--max-seconds S]\n";

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) die("cannot read /proc/self/exe: " + ec.message());
  return p.string();
}

void apply_overrides(const Args& a, Scale* s) {
  auto count = [&](const char* name, size_t* v, long max) {
    long n = a.num(name, static_cast<long>(*v));
    if (n < 0 || n > max) die(std::string("--") + name + ": 0.." + std::to_string(max));
    *v = static_cast<size_t>(n);
  };
  auto secs = [&](const char* name, double* v) {
    double d = a.real(name, *v);
    if (d < 0 || d > 3600) die(std::string("--") + name + ": 0..3600 seconds");
    *v = d;
  };
  count("connections", &s->connections, 60000);
  count("slowloris", &s->slowloris, 10000);
  count("silent", &s->silent, 10000);
  count("nonreaders", &s->nonreaders, 10000);
  size_t bad = s->bad_handshakes;
  count("bad-handshakes", &bad, 10'000'000);
  s->bad_handshakes = bad;
  size_t kills = static_cast<size_t>(s->backend_kills);
  count("backend-kills", &kills, 100);
  s->backend_kills = static_cast<int>(kills);
  secs("hold", &s->hold);
  secs("hostile", &s->hostile);
  secs("sighup-for", &s->sighup_for);
}

int run(int argc, char** argv) {
  Args a(argc, argv,
         {"tlsgate", "scale", "phases", "work", "out", "connections", "hold", "slowloris", "silent",
          "nonreaders", "hostile", "bad-handshakes", "backend-kills", "sighup-for", "peer"},
         {"keep"});
  std::string tlsgate = a.str("tlsgate", "");
  if (tlsgate.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  tlsgate = fs::absolute(tlsgate).string();
  if (::access(tlsgate.c_str(), X_OK) != 0) die("--tlsgate: not an executable: " + tlsgate);
  std::string scale_name = a.str("scale", "full");
  if (scale_name != "full" && scale_name != "ci") die("--scale: full or ci");
  Scale scale = scale_name == "ci" ? ci_scale() : full_scale();
  apply_overrides(a, &scale);
  std::vector<std::string> phases;
  {
    std::stringstream in(a.str("phases", "connections,hostile,badcert,churn,descriptors"));
    std::string p;
    while (std::getline(in, p, ',')) {
      if (p != "connections" && p != "hostile" && p != "badcert" && p != "churn" &&
          p != "descriptors") {
        die("--phases: connections, hostile, badcert, churn, descriptors; not '" + p + "'");
      }
      phases.push_back(p);
    }
  }
  const std::string peer = a.str("peer", "");
  if (!peer.empty() && (peer != "nginx" || phases != std::vector<std::string>{"hostile"})) {
    die("--peer: only `--peer nginx --phases hostile` (the other phases read the gate's log)");
  }
  long nofile = raise_nofile_limit();
  const long needed = 2 * static_cast<long>(scale.connections) + 64;
  if (needed > nofile) {
    std::cerr << "soak: warning: " << scale.connections << " proxied connections need about "
              << needed << " descriptors in the gate (two each), RLIMIT_NOFILE's hard limit is "
              << nofile << ": expect the last ones to fail with EMFILE" << std::endl;
  }

  fs::path work = a.str("work", "");
  bool made_work = false;
  if (work.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "tlsgate-soak.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed in " + tmpl);
    work = tmpl;
    made_work = true;
  } else {
    fs::create_directories(work);
  }
  std::ofstream out_file;
  if (a.has("out")) {
    out_file.open(a.str("out", ""));
    if (!out_file) die("--out: cannot write " + a.str("out", ""));
  }
  auto emit = [&](const std::string& line) {
    std::cout << line << std::endl;
    if (out_file) out_file << line << std::endl;
  };

  std::cerr << "soak: scale " << scale.name << ", phases " << a.str("phases", "all")
            << ", RLIMIT_NOFILE " << nofile << ", work " << work.string() << std::endl;
  Harness h(tlsgate, self_path(), work);
  h.set_peer(peer);
  h.mint_certificates();
  std::vector<Check> checks;
  uint64_t t0 = now_ns();
  for (const auto& p : phases) {
    size_t first = checks.size();
    uint64_t p0 = now_ns();
    std::cerr << "soak: phase " << p << " ..." << std::endl;
    std::string json;
    if (p == "connections") json = run_connections(h, scale, &checks);
    if (p == "hostile") json = run_hostile(h, scale, &checks);
    if (p == "badcert") json = run_badcert(h, scale, &checks);
    if (p == "churn") json = run_churn(h, scale, &checks);
    if (p == "descriptors") json = run_descriptors(h, scale, &checks);
    std::vector<Check> mine(checks.begin() + static_cast<long>(first), checks.end());
    double secs = static_cast<double>(now_ns() - p0) / 1e9;
    json.pop_back();  // the closing brace: the checks and the time go in too
    emit(json + ",\"seconds\":" + std::to_string(secs) + ",\"checks\":" + checks_json(mine) + "}");
    for (const auto& c : mine) {
      std::cerr << "soak: " << (c.ok ? "  ok  " : " MISS ") << c.name << ": " << c.detail
                << std::endl;
    }
  }
  bool ok = true;
  for (const auto& c : checks) ok = ok && c.ok;
  emit(Json()
           .add("phase", "summary")
           .add("scale", scale.name)
           .add("ok", ok)
           .add("checks", static_cast<uint64_t>(checks.size()))
           .add("nofile_limit", static_cast<int64_t>(nofile))
           .add("cores", static_cast<uint64_t>(std::thread::hardware_concurrency()))
           .add("seconds", static_cast<double>(now_ns() - t0) / 1e9)
           .str());
  if (made_work && !a.flag("keep")) {
    std::error_code ec;
    fs::remove_all(work, ec);
  } else {
    std::cerr << "soak: kept " << work.string() << std::endl;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tlsgate::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc >= 2 && std::string(argv[1]) == "backend") {
    return tlsgate::bench::run_backend(argc - 2, argv + 2);
  }
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << tlsgate::bench::kUsage;
    return 0;
  }
  return tlsgate::bench::run(argc - 1, argv + 1);
}
