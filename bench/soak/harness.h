// Harness: what every soak phase sets up the same way — the certificates
// (minted at run time with `tlsgate cert`), the backend (this program's
// `backend` mode, i.e. tlsgate-loadgen's), one gate with a config of one tcp
// connector in front of it, client contexts, and a Watch that samples the
// gate's memory and descriptors while the phase runs. Phase wraps a phase's
// load in the same start (gate, backend, warm-up, baseline) and the same end
// (descriptors back, gate alive, clean exit).
//
// Main thread only; the client drivers run on threads of their own and are
// joined before a phase ends. Everything listens on and connects to
// 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "driver.h"
#include "process.h"
#include "util.h"

namespace tlsgate::bench {

struct GateConfig {
  std::string client_auth = "NONE";  // ssl.policy.soak.client_auth
  double handshake_timeout = 10;     // ssl.policy.soak.handshake_timeout
  double idle_timeout = 0;           // server.idle_timeout
  std::string log_level = "info";
  int worker_threads = 2;
  long max_connections = 20000;
  long nofile = 0;  // the gate's RLIMIT_NOFILE; 0: the soak's own (its hard limit)
  // A second connector, `streams`, on a port of its own, to a second backend
  // process: clients that make the backend stream (the hostile phase's
  // non-readers) go through the same gate and workers, while the backend's
  // own work for them (hundreds of MB copied into sockets at each wave) does
  // not hold up the echoes of the good clients, as a database's per-client
  // worker would not. That backend runs under SCHED_IDLE (start_streams_backend).
  bool streams_connector = false;
};

// Samples the gate: VmRSS, the number of open descriptors and whether it is
// alive; keeps the peaks.
class Watch {
 public:
  explicit Watch(Child* gate) : gate_(gate) {}
  void sample();
  // Samples every `period` s until done() or `seconds` passed; done()'s last value.
  bool wait_until(const std::function<bool()>& done, double seconds, double period = 0.1);
  void hold(double seconds) {
    wait_until([] { return false; }, seconds);
  }
  // Waits until the gate holds at most `fds` descriptors; false at the deadline.
  bool wait_fds_at_most(int fds, double seconds) {
    return wait_until([&] { return fds_ >= 0 && fds_ <= fds; }, seconds);
  }
  void reset_peaks() {
    peak_rss_kb_ = rss_kb_;
    peak_fds_ = fds_;
  }

  long rss_kb() const { return rss_kb_; }
  double cpu_seconds() const { return cpu_s_; }  // the gate's, so far
  long hwm_kb() const { return hwm_kb_; }
  int fds() const { return fds_; }
  long peak_rss_kb() const { return peak_rss_kb_; }
  int peak_fds() const { return peak_fds_; }
  bool alive() const { return alive_; }

 private:
  Child* gate_;
  long rss_kb_ = 0;
  double cpu_s_ = 0;
  long hwm_kb_ = 0;
  int fds_ = -1;
  long peak_rss_kb_ = 0;
  int peak_fds_ = 0;
  bool alive_ = true;
};

class Harness {
 public:
  Harness(std::string tlsgate, std::string self, std::filesystem::path work);
  // Another TLS proxy in the gate's place (`nginx`), configured as start_gate()
  // configures the gate (same certificate, suite, timeouts, connectors): for
  // the hostile phase's latency figures side by side (--peer). Empty: tlsgate.
  void set_peer(std::string peer) { peer_ = std::move(peer); }
  const std::string& peer() const { return peer_; }

  // `tlsgate cert`: a CA, a server certificate for localhost and 127.0.0.1,
  // a client certificate from that CA and one from a CA the gate does not trust.
  void mint_certificates();
  const std::string& ca_file() const { return ca_file_; }
  SslCtxPtr client_ctx() const;                 // verifies the gate, no client certificate
  SslCtxPtr client_ctx_good_cert() const;       // ... with a certificate the gate trusts
  SslCtxPtr client_ctx_untrusted_cert() const;  // ... with one it must refuse

  // The backend, on `port` (0: a free one); returns its port.
  uint16_t start_backend(uint16_t port = 0);
  void kill_backend();  // SIGKILL, reaped (the streams' backend too)
  uint16_t backend_port() const { return backend_port_; }
  // GateConfig::streams_connector: its backend, started before the gate.
  void start_streams_backend();

  // Writes the config of phase `name` and starts the gate on a free port;
  // returns once it accepts connections (dies with its log when it does not).
  void start_gate(const std::string& name, const GateConfig& config);
  // SIGTERM and up to `seconds` for the drain; the exit as Child::how_ended says.
  std::string stop_gate(double seconds);
  Child& gate() { return *gate_; }
  uint16_t gate_port() const { return gate_port_; }
  uint16_t streams_port() const { return streams_port_; }  // 0 without that connector
  const std::string& gate_log() const { return gate_log_; }
  ClientOptions client_options(size_t concurrency) const;

  // A short burst of handshakes and echoes, so that what the gate allocates
  // once (contexts, thread caches, arenas) is in the "before" figures.
  void warm_up(SSL_CTX* ctx, int connections);

  const std::filesystem::path& work() const { return work_; }

 private:
  std::string tlsgate_;
  std::string self_;
  std::filesystem::path work_;
  std::string ca_file_;
  // A backend process listening on `port` (0: a free one); sets *bound.
  std::unique_ptr<Child> launch_backend(uint16_t port, uint16_t* bound);

  void write_gate_conf(const std::filesystem::path& conf, const GateConfig& g) const;
  void write_nginx_conf(const std::filesystem::path& conf, const GateConfig& g) const;

  std::string peer_;
  std::unique_ptr<Child> backend_;
  uint16_t backend_port_ = 0;
  int backend_starts_ = 0;
  std::unique_ptr<Child> streams_backend_;
  uint16_t streams_backend_port_ = 0;
  uint16_t streams_port_ = 0;
  std::unique_ptr<Child> gate_;
  uint16_t gate_port_ = 0;
  std::string gate_log_;
};

// Runs f on a thread of its own; done() once it returned, join() waits for it.
class Worker {
 public:
  explicit Worker(std::function<void()> f)
      : thread_([this, f = std::move(f)] {
          f();
          done_.store(true);
        }) {}
  ~Worker() { join(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  bool done() const { return done_.load(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// A port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();
// One connect(2) to 127.0.0.1:port; true when it was accepted.
bool port_accepts(uint16_t port);

// Percentiles (µs) of latencies in ns, in a JSON object: count, p50, p99, max.
std::string latency_json(std::vector<uint64_t> ns);
double percentile_us(std::vector<uint64_t> ns, double q);  // NaN when empty

// One named check of a phase: passed or not, and what was compared.
struct Check {
  std::string name;
  bool ok;
  std::string detail;
};
std::string checks_json(const std::vector<Check>& checks);

// The gate's figures when a phase's load starts.
struct Baseline {
  long rss_kb = 0;
  int fds = -1;
  std::map<std::string, int> fds_by_kind;
  uint64_t log_from = 0;  // the gate log's size then: the phase's own lines follow
  double cpu_s = 0;       // the gate's CPU seconds so far
};

// What every phase does around its load. The constructor starts the backend
// and a gate with `config`, warms it up with `warm_up` handshakes on
// `warm_ctx`, lets it settle for a second and takes the baseline (the
// watch's peaks start from there). finish() ends the phase: the warn and
// error lines the gate logged since the baseline, its descriptors back to
// the baseline's count (waiting up to `seconds` once the load has closed),
// the gate alive, then SIGTERM and a clean exit — the checks
// `<phase>.fds_back` and `<phase>.gate_alive` — and the backend killed.
// report() adds what every phase reports to its JSON object.
class Phase {
 public:
  Phase(Harness& h, std::string name, const GateConfig& config, SSL_CTX* warm_ctx, int warm_up);

  Watch& watch() { return watch_; }
  const Baseline& before() const { return before_; }
  void finish(double seconds, std::vector<Check>* checks);
  // After finish(): the descriptors then, and the gate's CPU seconds during the phase.
  int fds_after() const { return fds_after_; }
  double cpu_seconds() const { return cpu_s_ - before_.cpu_s; }
  // rss_before_kb, fds_before, fds_after, fd_diff, gate_log, gate_cpu_s,
  // gate_alive and gate_exit; after finish().
  void report(Json& out) const;

 private:
  Harness& h_;
  std::string name_;
  Watch watch_;
  Baseline before_;
  int fds_after_ = -1;
  std::string fd_diff_ = "{}";  // JSON: descriptors by kind, after minus before
  bool alive_ = false;
  double cpu_s_ = 0;  // the gate's CPU seconds at the end, before SIGTERM
  std::string exit_;  // how the gate ended after SIGTERM
  std::string log_problems_;
};

// Lines of the gate's log at warn or error (count) and the first few.
std::string log_problems_json(const std::string& log_file, uint64_t from);

}  // namespace tlsgate::bench
