#include "e2e/cluster/cluster_fixture.h"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <sstream>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "pki/certificate_info.h"
#include "support/loopback.h"
#include "tls/ssl_handles.h"

namespace tlsgate::e2e::cluster {

namespace {

constexpr const char* kClusterName = "e2e";

void set_timeouts(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

tls::SslCtxPtr client_ctx(const fs::path& trust) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_load_verify_locations(ctx.get(), trust.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

bool round_trip(SSL* ssl, const std::string& line) {
  if (SSL_write(ssl, line.data(), static_cast<int>(line.size())) <= 0) return false;
  std::string got;
  char buf[256];
  for (int i = 0; i < 20 && got.size() < line.size(); ++i) {
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got == line;
}

}  // namespace

Handshake handshake(int port, const fs::path& trust, bool with_round_trip) {
  Handshake out;
  int fd = test::connect_loopback(port);
  if (fd < 0) return out;
  set_timeouts(fd);
  auto ctx = client_ctx(trust);
  tls::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) == 1 && SSL_get_verify_result(ssl.get()) == X509_V_OK) {
    out.ok = true;
    if (X509* leaf = SSL_get1_peer_certificate(ssl.get())) {
      out.serial = pki::serial_to_hex(leaf);
      X509_free(leaf);
    }
    out.echoed = with_round_trip && round_trip(ssl.get(), "ping-through-node\n");
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  ::close(fd);
  return out;
}

HandshakeLoop::HandshakeLoop(std::vector<int> ports, fs::path trust)
    : ports_(std::move(ports)), trust_(std::move(trust)) {
  thread_ = std::thread([this] {
    // Bounded: stop() ends it; a cap on rounds keeps it finite regardless.
    for (int round = 0; round < 1000000 && !stop_.load(); ++round) {
      for (int port : ports_) {
        auto h = handshake(port, trust_);
        attempts_.fetch_add(1);
        if (!h.ok) {
          failures_.fetch_add(1);
          std::lock_guard lock(mu_);
          if (first_failure_.empty()) first_failure_ = "port " + std::to_string(port);
        }
      }
    }
  });
}

HandshakeLoop::~HandshakeLoop() { stop(); }

void HandshakeLoop::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string HandshakeLoop::first_failure() const {
  std::lock_guard lock(mu_);
  return first_failure_;
}

HeldConnection::HeldConnection(int port, const fs::path& trust) {
  fd_ = test::connect_loopback(port);
  if (fd_ < 0) return;
  set_timeouts(fd_);
  auto ctx = client_ctx(trust);
  SSL* ssl = SSL_new(ctx.get());
  ctx_ = ctx.release();
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  established_ = SSL_connect(ssl) == 1 && round_trip(ssl, "held\n");
  ERR_clear_error();
}

HeldConnection::~HeldConnection() {
  SSL_free(static_cast<SSL*>(ssl_));
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
  ERR_clear_error();
}

bool HeldConnection::echo(const std::string& line) {
  bool ok = established_ && round_trip(static_cast<SSL*>(ssl_), line);
  ERR_clear_error();
  return ok;
}

void ClusterFixture::SetUp() {
  std::signal(SIGPIPE, SIG_IGN);
  ASSERT_FALSE(test::GateProcess::binary().empty()) << "TLSGATE_BIN is not set (run through ctest)";
  if (!fs::exists("/usr/bin/etcd")) GTEST_SKIP() << "/usr/bin/etcd (Debian etcd-server) is missing";
  dir_ = fs::canonical(tmp_.path());
  auto started = etcd_.start();
  ASSERT_EQ(started, "") << "etcd did not start";
  ca_ = test::make_test_ca("cluster e2e CA");
  trust_ = dir_ / "clients-trust.crt";
  test::write_cert(trust_, ca_.ca.cert.get());
}

void ClusterFixture::lay_out(std::optional<test::Validity> initial_validity) {
  auto initial = test::make_leaf(ca_, initial_names_, true, true, initial_validity);
  initial_serial_ = pki::serial_to_hex(initial.cert.get());
  std::string secret(32, '\0');
  ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32), 1);
  for (int i = 0; i < kNodes; ++i) {
    node_dir_[i] = dir_ / (std::string("node-") + name(i));
    const auto& d = node_dir_[i];
    auto cluster_dir = d / "certs" / "cluster";
    fs::create_directories(cluster_dir / "trusted");
    test::write_cert(cluster_dir / "trusted" / "ca.crt", ca_.ca.cert.get());
    test::write_cert(cluster_dir / "public.crt", initial.cert.get());
    test::write_key(cluster_dir / "private.key", initial.key.get());
    auto etcd_dir = d / "certs" / "etcd";
    fs::create_directories(etcd_dir / "trusted");
    test::write_cert(etcd_dir / "trusted" / "ca.crt", etcd_.ca().ca.cert.get());
    test::write_cert(etcd_dir / "public.crt", etcd_.client().cert.get());
    test::write_key(etcd_dir / "private.key", etcd_.client().key.get());
    test::write_text(d / "cluster.secret", secret, 0600);
    port_[i] = test::free_loopback_port();
    test::GateConfig conf;
    conf.set("server.worker_threads", "2")
        .set("server.log_level", "debug")
        .set("server.shutdown_timeout", "1")
        .set("server.reload_settle", "50ms")
        .set("server.state_dir", (d / "state").string())
        .set("ssl.policy.cluster.enabled", "true")
        .set("ssl.policy.cluster.base_directory", (d / "certs" / "cluster").string())
        .set("ssl.policy.cluster.client_auth", "NONE")
        .set("ssl.policy.etcd.enabled", "true")
        .set("ssl.policy.etcd.base_directory", etcd_dir.string())
        .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(port_[i]))
        .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
        .set("connector.echo.ssl_policy", "cluster")
        .set("cluster.enabled", "true")
        .set("cluster.name", kClusterName)
        .set("cluster.node_name", name(i))
        .set("cluster.members", "a;b;c")
        .set("cluster.etcd_endpoints", etcd_.endpoint())
        .set("cluster.ssl_policy", "etcd")
        .set("cluster.scopes", "cluster")
        .set("cluster.secret_file", (d / "cluster.secret").string());
    config_[i] = conf.text();
  }
}

void ClusterFixture::set_all(const std::string& key, const std::string& value) {
  for (auto& text : config_) {
    const std::string prefix = key + "=";
    std::string out;
    bool found = false;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) == 0) {
        line = prefix + value;
        found = true;
      }
      out += line + "\n";
    }
    if (!found) out += prefix + value + "\n";
    text = out;
  }
}

void ClusterFixture::add_links(const std::string& known_peers) {
  set_all("ssl.policy.cluster.client_auth", "OPTIONAL");
  set_all("ssl.policy.cluster.known_peers", known_peers);
  for (int i = 0; i < kNodes; ++i) link_port_[i] = test::free_loopback_port();
  for (int i = 0; i < kNodes; ++i) {
    const int next = (i + 1) % kNodes;
    const std::string mine = "127.0.0.1:" + std::to_string(link_port_[i]);
    const std::string theirs = "127.0.0.1:" + std::to_string(port_[next]);
    config_[i] += "connector.link.listen_address=" + mine + "\n" +
                  "connector.link.upstream_address=" + theirs + "\n" +
                  "connector.link.tls_level=DISABLED\n" +
                  "connector.link.upstream_ssl_policy=cluster\n";
  }
}

bool ClusterFixture::peer_accepted(int i, const fs::path& cert, const fs::path& key,
                                   const fs::path& trust) {
  int fd = test::connect_loopback(port_[i]);
  if (fd < 0) return false;
  set_timeouts(fd);
  auto ctx = client_ctx(trust);
  SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str());
  SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM);
  tls::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  // TLS 1.3: the server's verdict on our certificate comes after our
  // handshake, so only a round trip tells.
  bool ok = SSL_connect(ssl.get()) == 1 && round_trip(ssl.get(), "peer-check\n");
  if (ok) SSL_shutdown(ssl.get());
  ERR_clear_error();
  ::close(fd);
  return ok;
}

void ClusterFixture::start_node(int i) {
  node_[i] = std::make_unique<test::GateProcess>(node_dir_[i], config_[i]);
  auto why = node_[i]->wait_serving(port_[i], Millis(20000));
  ASSERT_EQ(why, "") << "node " << name(i);
}

void ClusterFixture::stop_node(int i) {
  ASSERT_TRUE(node_[i]);
  auto code = node_[i]->terminate(Millis(15000));
  EXPECT_TRUE(code.has_value()) << "node " << name(i) << " did not stop";
}

void ClusterFixture::start_all() {
  for (int i = 0; i < kNodes; ++i) {
    start_node(i);
    if (HasFatalFailure()) return;
  }
}

std::string ClusterFixture::write_leaf(const test::TestCa& ca,
                                       const std::vector<std::string>& names,
                                       const std::string& file,
                                       std::optional<test::Validity> validity) {
  auto leaf = test::make_leaf(ca, names, true, true, validity);
  test::write_cert(dir_ / (file + ".crt"), leaf.cert.get());
  test::write_key(dir_ / (file + ".key"), leaf.key.get());
  return pki::serial_to_hex(leaf.cert.get());
}

test::CommandResult ClusterFixture::cli(const std::string& args, int node) {
  return test::run_shell("timeout 30 " + test::q(test::GateProcess::binary()) + " " + args +
                             " -c " + test::q(node_dir_[node] / "tlsgate.conf"),
                         dir_, Millis(40000));
}

nlohmann::json ClusterFixture::status(int node) {
  auto r = cli("cluster status --json", node);
  if (r.code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

nlohmann::json ClusterFixture::replacement(int node) {
  auto s = status(node);
  if (s.is_discarded() || !s.is_object() || !s.contains("replacements") ||
      s["replacements"].empty()) {
    return nullptr;
  }
  return s["replacements"].back();
}

std::optional<Millis> ClusterFixture::wait_serving(const std::vector<int>& nodes,
                                                   const std::string& serial, Millis deadline) {
  auto start = std::chrono::steady_clock::now();
  std::vector<bool> done(kNodes, false);
  for (int round = 0; round < 100000; ++round) {
    bool all = true;
    for (int i : nodes) {
      if (!done[i]) done[i] = served(i) == serial;
      all = all && done[i];
    }
    auto elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    if (all) return elapsed;
    if (elapsed > deadline) return std::nullopt;
  }
  return std::nullopt;
}

int ClusterFixture::etcd_keys(const std::string& sub) {
  const auto etcd = node_dir_[0] / "certs" / "etcd";
  auto r = test::run_shell(
      "ETCDCTL_API=3 timeout 20 etcdctl --endpoints=" + test::shell_quote(etcd_.endpoint()) +
          " --cacert " + test::q(etcd / "trusted" / "ca.crt") + " --cert " +
          test::q(etcd / "public.crt") + " --key " + test::q(etcd / "private.key") +
          " get --prefix --keys-only " +
          test::shell_quote(std::string("/tlsgate/") + kClusterName + "/" + sub),
      dir_, Millis(30000));
  if (r.code != 0) {
    ADD_FAILURE() << "etcdctl: " << r.code << " " << r.err;
    return -1;
  }
  int n = 0;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) n += line.empty() ? 0 : 1;
  return n;
}

std::string ClusterFixture::logs() {
  std::string all;
  for (int i = 0; i < kNodes; ++i) {
    if (node_[i]) all += std::string("==== node ") + name(i) + "\n" + node_[i]->log() + "\n";
  }
  return all;
}

void ClusterFixture::TearDown() {
  if (HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr) {  // NOLINT
    std::cerr << logs() << "==== etcd\n" << etcd_.output().substr(0, 20000) << "\n";
  }
  for (auto& n : node_) n.reset();
}

}  // namespace tlsgate::e2e::cluster
