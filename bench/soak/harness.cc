#include "harness.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <ctime>
#include <fstream>
#include <set>

#include "handshake_drivers.h"

namespace tlsgate::bench {

namespace fs = std::filesystem;

// ---- Watch ---------------------------------------------------------------------

void Watch::sample() {
  alive_ = alive_ && gate_->running();
  if (!alive_) return;
  ProcMemory m = read_memory(gate_->pid());
  if (m.rss_kb >= 0) rss_kb_ = m.rss_kb;
  if (m.hwm_kb >= 0) hwm_kb_ = m.hwm_kb;
  fds_ = count_fds(gate_->pid());
  double cpu = read_cpu_seconds(gate_->pid());
  if (cpu >= 0) cpu_s_ = cpu;
  peak_rss_kb_ = std::max(peak_rss_kb_, rss_kb_);
  peak_fds_ = std::max(peak_fds_, fds_);
}

bool Watch::wait_until(const std::function<bool()>& done, double seconds, double period) {
  uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  auto step = static_cast<uint64_t>(period * 1e9);
  while (true) {
    sample();
    if (done()) return true;
    uint64_t now = now_ns();
    if (now >= deadline) return false;
    uint64_t nap = std::min(step, deadline - now);
    timespec ts{static_cast<time_t>(nap / kSecond), static_cast<long>(nap % kSecond)};
    ::nanosleep(&ts, nullptr);
  }
}

// ---- Harness -------------------------------------------------------------------

Harness::Harness(std::string tlsgate, std::string self, fs::path work)
    : tlsgate_(std::move(tlsgate)), self_(std::move(self)), work_(std::move(work)) {}

void Harness::mint_certificates() {
  std::string log = (work_ / "cert.log").string();
  auto cert = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {tlsgate_, "cert"});
    run_to_end(args, log, 60);
  };
  std::string ca = (work_ / "ca").string();
  std::string untrusted = (work_ / "untrusted-ca").string();
  cert({"ca", "--out", ca, "--name", "tlsgate soak CA", "--days", "2"});
  cert({"ca", "--out", untrusted, "--name", "tlsgate soak untrusted CA", "--days", "2"});
  cert({"issue", "--ca", ca, "--out", (work_ / "server").string(), "--server", "--days", "2",
        "localhost", "127.0.0.1"});
  cert({"issue", "--ca", ca, "--out", (work_ / "client-good").string(), "--client", "--days", "2",
        "soak-client.example"});
  cert({"issue", "--ca", untrusted, "--out", (work_ / "client-untrusted").string(), "--client",
        "--days", "2", "soak-intruder.example"});
  ca_file_ = ca + "/ca.crt";
  fs::create_directories(work_ / "server" / "trusted");
  fs::copy_file(ca_file_, work_ / "server" / "trusted" / "ca.crt",
                fs::copy_options::overwrite_existing);
}

namespace {

SslCtxPtr with_cert(SslCtxPtr ctx, const fs::path& dir) {
  std::string crt = (dir / "public.crt").string();
  std::string key = (dir / "private.key").string();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), crt.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    die("cannot load the client certificate " + crt + ": " + openssl_errors());
  }
  return ctx;
}

}  // namespace

SslCtxPtr Harness::client_ctx() const { return make_client_ctx(ca_file_); }
SslCtxPtr Harness::client_ctx_good_cert() const {
  return with_cert(make_client_ctx(ca_file_), work_ / "client-good");
}
SslCtxPtr Harness::client_ctx_untrusted_cert() const {
  return with_cert(make_client_ctx(ca_file_), work_ / "client-untrusted");
}

uint16_t Harness::start_backend(uint16_t port) {
  backend_ = launch_backend(port, &backend_port_);
  return backend_port_;
}

void Harness::start_streams_backend() {
  streams_backend_ = launch_backend(0, &streams_backend_port_);
  // It stands for the database host's own work, as the attackers stand for
  // other machines: under SCHED_IDLE it gets a core only when the gate, the
  // good clients and their backend leave one idle (its single thread is the
  // process's main thread, so the pid names it).
  sched_param idle{};
  if (::sched_setscheduler(streams_backend_->pid(), SCHED_IDLE, &idle) != 0)
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(streams_backend_->pid()), 19);
}

std::unique_ptr<Child> Harness::launch_backend(uint16_t port, uint16_t* bound) {
  std::string log = (work_ / ("backend-" + std::to_string(++backend_starts_) + ".log")).string();
  auto backend = std::make_unique<Child>(
      std::vector<std::string>{self_, "backend", "--port", std::to_string(port), "--max-seconds",
                               "3600"},
      log);
  // The backend prints {"mode":"backend","port":P} once it listens.
  std::string out;
  for (int i = 0; i < 500; ++i) {
    out = read_tail(log, 0, 4096);
    if (out.find("\"port\":") != std::string::npos || !backend->running()) break;
    timespec ts{0, 10'000'000};
    ::nanosleep(&ts, nullptr);
  }
  auto at = out.find("\"port\":");
  if (at == std::string::npos) die("the backend did not start; its output: " + out);
  *bound = static_cast<uint16_t>(std::stoi(out.substr(at + 7)));
  return backend;
}

void Harness::kill_backend() {
  for (auto* b : {&backend_, &streams_backend_}) {
    if (!*b) continue;
    (*b)->signal(SIGKILL);
    (*b)->wait_exit(10);
    b->reset();
  }
}

void Harness::start_gate(const std::string& name, const GateConfig& g) {
  gate_port_ = free_port();
  streams_port_ = g.streams_connector ? free_port() : 0;
  fs::path conf = work_ / (name + ".conf");
  gate_log_ = (work_ / (name + "-gate.log")).string();
  if (peer_ == "nginx") {
    write_nginx_conf(conf, g);
    gate_ =
        std::make_unique<Child>(std::vector<std::string>{"/usr/sbin/nginx", "-p", work_.string(),
                                                         "-c", conf.string(), "-e", gate_log_},
                                gate_log_, g.nofile);
  } else {
    write_gate_conf(conf, g);
    gate_ = std::make_unique<Child>(
        std::vector<std::string>{tlsgate_, "serve", "-c", conf.string(), "--allow-root"}, gate_log_,
        g.nofile);
  }
  for (int i = 0; i < 1500; ++i) {
    if (!gate_->running()) break;
    if (port_accepts(gate_port_)) return;
    timespec ts{0, 10'000'000};
    ::nanosleep(&ts, nullptr);
  }
  die("the gate did not start listening on 127.0.0.1:" + std::to_string(gate_port_) + " (" +
      gate_->how_ended() + "); its log: " + read_tail(gate_log_, 0, 8192));
}

void Harness::write_gate_conf(const fs::path& conf, const GateConfig& g) const {
  std::ofstream out(conf);
  out << "# soak phase " << conf.stem().string() << "\n"
      << "ssl.policy.soak.enabled=true\n"
      << "ssl.policy.soak.base_directory=" << (work_ / "server").string() << "\n"
      << "ssl.policy.soak.client_auth=" << g.client_auth << "\n"
      << "ssl.policy.soak.tls_versions=TLSv1.3\n"
      << "ssl.policy.soak.ciphers=TLS_AES_128_GCM_SHA256\n"
      << "ssl.policy.soak.groups=X25519\n"
      << "ssl.policy.soak.handshake_timeout=" << g.handshake_timeout << "\n"
      << "connector.soak.listen_address=127.0.0.1:" << gate_port_ << "\n"
      << "connector.soak.upstream_address=127.0.0.1:" << backend_port_ << "\n"
      << "connector.soak.ssl_policy=soak\n"
      << "connector.soak.max_connections=" << g.max_connections << "\n";
  if (g.streams_connector) {
    out << "connector.streams.listen_address=127.0.0.1:" << streams_port_ << "\n"
        << "connector.streams.upstream_address=127.0.0.1:" << streams_backend_port_ << "\n"
        << "connector.streams.ssl_policy=soak\n"
        << "connector.streams.max_connections=" << g.max_connections << "\n";
  }
  out << "server.worker_threads=" << g.worker_threads << "\n"
      << "server.log_level=" << g.log_level << "\n"
      << "server.idle_timeout=" << g.idle_timeout << "\n"
      << "server.shutdown_timeout=10\n";
}

// The same service from nginx's stream module: handshake_timeout is
// ssl_handshake_timeout, idle_timeout is proxy_timeout (no byte either way),
// two worker processes for the gate's two threads. Client certificates and
// the gate's log lines have no counterpart: only the hostile phase runs so.
void Harness::write_nginx_conf(const fs::path& conf, const GateConfig& g) const {
  if (g.client_auth != "NONE") die("--peer nginx: only the hostile phase runs against nginx");
  auto ms = [](double s) { return std::to_string(static_cast<long>(s * 1000)) + "ms"; };
  auto server = [&](uint16_t port, uint16_t backend) {
    return "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
           " ssl;\n    proxy_pass 127.0.0.1:" + std::to_string(backend) + ";\n  }\n";
  };
  std::ofstream out(conf);
  out << "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
      << "worker_processes " << g.worker_threads << ";\n"
      << "worker_rlimit_nofile 20000;\n"
      << "daemon off;\n"
      << "pid " << (work_ / "nginx.pid").string() << ";\n"
      << "events { worker_connections 16000; }\n"
      << "stream {\n"
      << "  ssl_certificate " << (work_ / "server" / "public.crt").string() << ";\n"
      << "  ssl_certificate_key " << (work_ / "server" / "private.key").string() << ";\n"
      << "  ssl_protocols TLSv1.3;\n"
      << "  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;\n"
      << "  ssl_ecdh_curve X25519;\n"
      << "  ssl_handshake_timeout " << ms(g.handshake_timeout) << ";\n";
  if (g.idle_timeout > 0) out << "  proxy_timeout " << ms(g.idle_timeout) << ";\n";
  out << server(gate_port_, backend_port_);
  if (g.streams_connector) out << server(streams_port_, streams_backend_port_);
  out << "}\n";
}

std::string Harness::stop_gate(double seconds) {
  if (!gate_->running()) return gate_->how_ended();
  gate_->signal(SIGTERM);
  if (gate_->wait_exit(seconds)) return gate_->how_ended();
  gate_->signal(SIGKILL);
  gate_->wait_exit(10);
  return "still running " + std::to_string(static_cast<int>(seconds)) + " s after SIGTERM (killed)";
}

ClientOptions Harness::client_options(size_t concurrency) const {
  ClientOptions o;
  o.port = gate_port_;
  o.ca = ca_file_;
  o.concurrency = concurrency;
  o.quiet = true;
  return o;
}

void Harness::warm_up(SSL_CTX* ctx, int connections) {
  HandshakeLoop loop(client_options(4), ctx, 0, static_cast<uint64_t>(connections), 10 * kSecond);
  loop.run(now_ns() + 30 * kSecond);
  if (loop.ops_now() < static_cast<uint64_t>(connections)) {
    die("warm-up: only " + std::to_string(loop.ops_now()) + " of " + std::to_string(connections) +
        " handshakes through the gate worked: " + loop.failed().reasons_json() +
        "; the gate's log: " + read_tail(gate_log_, 0, 8192));
  }
}

// ---- Phase ---------------------------------------------------------------------

Phase::Phase(Harness& h, std::string name, const GateConfig& config, SSL_CTX* warm_ctx, int warm_up)
    : h_(h), name_(std::move(name)), watch_(nullptr) {
  h_.start_backend();
  if (config.streams_connector) h_.start_streams_backend();
  h_.start_gate(name_, config);
  h_.warm_up(warm_ctx, warm_up);
  watch_ = Watch(&h_.gate());
  watch_.hold(1);
  before_.rss_kb = watch_.rss_kb();
  before_.fds = watch_.fds();
  before_.fds_by_kind = fds_by_kind(h_.gate().pid());
  before_.log_from = file_size(h_.gate_log()).bytes;
  before_.cpu_s = watch_.cpu_seconds();
  watch_.reset_peaks();
}

void Phase::finish(double seconds, std::vector<Check>* checks) {
  log_problems_ = log_problems_json(h_.gate_log(), before_.log_from);
  uint64_t t0 = now_ns();
  bool back = watch_.wait_fds_at_most(before_.fds, seconds);
  double waited = static_cast<double>(now_ns() - t0) / 1e9;
  fds_after_ = watch_.fds();
  alive_ = watch_.alive();
  Json diff;
  if (alive_) {
    auto after = fds_by_kind(h_.gate().pid());
    std::set<std::string> kinds;
    for (const auto& [k, n] : before_.fds_by_kind) kinds.insert(k);
    for (const auto& [k, n] : after) kinds.insert(k);
    for (const auto& k : kinds) {
      int d = (after.count(k) != 0 ? after.at(k) : 0) -
              (before_.fds_by_kind.count(k) != 0 ? before_.fds_by_kind.at(k) : 0);
      if (d != 0) diff.add(k, d);
    }
  }
  fd_diff_ = diff.str();
  cpu_s_ = watch_.cpu_seconds();
  exit_ = h_.stop_gate(15);
  h_.kill_backend();
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d descriptors after vs %d before (waited %.1f s of %.0f)",
                fds_after_, before_.fds, waited, seconds);
  checks->push_back({name_ + ".fds_back", back && alive_,
                     std::string(buf) + (fd_diff_ == "{}" ? "" : "; by kind " + fd_diff_)});
  checks->push_back({name_ + ".gate_alive", alive_ && exit_ == "exit 0",
                     std::string(alive_ ? "alive through the phase" : "DIED during the phase") +
                         "; after SIGTERM: " + exit_});
}

void Phase::report(Json& out) const {
  out.add("rss_before_kb", static_cast<int64_t>(before_.rss_kb))
      .add("fds_before", before_.fds)
      .add("fds_after", fds_after_)
      .add_raw("fd_diff", fd_diff_)
      .add_raw("gate_log", log_problems_)
      .add("gate_cpu_s", cpu_seconds())
      .add("gate_alive", alive_)
      .add("gate_exit", exit_);
}

std::string log_problems_json(const std::string& log_file, uint64_t from) {
  std::ifstream in(log_file);
  in.seekg(static_cast<std::streamoff>(from));
  std::string line;
  uint64_t warn = 0;
  uint64_t error = 0;
  std::string first = "[";
  int shown = 0;
  while (std::getline(in, line)) {
    bool w = line.find(" warn ") != std::string::npos;
    bool e =
        line.find(" error ") != std::string::npos || line.find(" critical ") != std::string::npos;
    warn += w ? 1 : 0;
    error += e ? 1 : 0;
    if ((w || e) && shown < 3) {
      first += (shown++ == 0 ? "" : ",") + json_quote(line.substr(0, 400));
    }
  }
  return Json()
      .add("warn_lines", warn)
      .add("error_lines", error)
      .add_raw("first", first + "]")
      .str();
}

// ---- helpers -------------------------------------------------------------------

uint16_t free_port() {
  int fd = listen_tcp("127.0.0.1", 0, 1);
  if (fd < 0) die("cannot bind a free port on 127.0.0.1");
  uint16_t port = local_port(fd);
  ::close(fd);
  return port;
}

bool port_accepts(uint16_t port) {
  bool connected = false;
  int fd = connect_tcp("127.0.0.1", port, &connected);
  if (fd < 0) return false;
  if (!connected) {
    for (int i = 0; i < 100 && !connected; ++i) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) break;
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      connected = ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0;
      if (!connected) {
        timespec ts{0, 1'000'000};
        ::nanosleep(&ts, nullptr);
      }
    }
  }
  ::close(fd);
  return connected;
}

double percentile_us(std::vector<uint64_t> ns, double q) {
  if (ns.empty()) return NAN;
  std::sort(ns.begin(), ns.end());
  auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size()))) - 1;
  return static_cast<double>(ns[std::min(i, ns.size() - 1)]) / 1e3;
}

std::string latency_json(std::vector<uint64_t> ns) {
  Json j;
  j.add("count", static_cast<uint64_t>(ns.size()));
  if (!ns.empty()) {
    j.add("p50_us", percentile_us(ns, 0.5))
        .add("p99_us", percentile_us(ns, 0.99))
        .add("max_us", static_cast<double>(*std::max_element(ns.begin(), ns.end())) / 1e3);
  }
  return j.str();
}

std::string checks_json(const std::vector<Check>& checks) {
  std::string out = "[";
  for (const auto& c : checks) {
    if (out.size() > 1) out += ",";
    out += Json().add("name", c.name).add("ok", c.ok).add("detail", c.detail).str();
  }
  return out + "]";
}

}  // namespace tlsgate::bench
