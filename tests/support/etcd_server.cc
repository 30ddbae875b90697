#include "support/etcd_server.h"

#include <signal.h>

#include <stdexcept>

#include "support/loopback.h"

namespace tlsgate::test {

EtcdServer::EtcdServer() : EtcdServer(Options{}) {}

EtcdServer::EtcdServer(Options options)
    : options_(std::move(options)),
      ca_(make_test_ca("etcd test CA")),
      client_(make_leaf(ca_, {"etcd-client"}, /*server=*/false, /*client=*/true)),
      client_port_(free_loopback_port()),
      peer_port_(free_loopback_port()) {
  if (options_.tls) {
    std::filesystem::create_directories(dir_ / "tls");
    // Both usages: etcd's JSON gateway dials etcd's own gRPC port with this
    // certificate as its client certificate (else every call is HTTP 503
    // "connection closed").
    auto server = make_leaf(ca_, options_.server_names, /*server=*/true, /*client=*/true);
    write_cert(dir_ / "tls/server.crt", server.cert.get());
    write_key(dir_ / "tls/server.key", server.key.get());
    write_cert(dir_ / "tls/ca.crt", ca_.ca.cert.get());
  }
}

EtcdServer::~EtcdServer() { stop(); }

std::string EtcdServer::endpoint() const {
  return std::string(options_.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdServer::start(Millis deadline) {
  if (running()) return "";
  // A free port may be taken by another test between free_loopback_port()
  // and etcd's bind; on the first start new ports are as good, later the
  // member must come back where it was.
  for (int attempt = 1;; ++attempt) {
    std::string why = start_once(deadline);
    if (why.empty() || started_once_ || attempt == 3 ||
        why.find("address already in use") == std::string::npos) {
      started_once_ = started_once_ || why.empty();
      return why;
    }
    client_port_ = free_loopback_port();
    peer_port_ = free_loopback_port();
  }
}

std::string EtcdServer::start_once(Millis deadline) {
  std::string client_url = endpoint();
  std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv = {
      "/usr/bin/etcd",
      "--name=test",
      "--data-dir=" + (dir_ / "data").string(),
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url,
      "--initial-cluster=test=" + peer_url,
      "--initial-cluster-state=new",
      // One member elects itself at once; the minimum lease TTL falls to 1 s.
      "--heartbeat-interval=10",
      "--election-timeout=100",
      "--logger=zap",
      "--log-outputs=stderr",
  };
  if (options_.tls) {
    argv.push_back("--client-cert-auth");
    argv.push_back("--trusted-ca-file=" + (dir_ / "tls/ca.crt").string());
    argv.push_back("--cert-file=" + (dir_ / "tls/server.crt").string());
    argv.push_back("--key-file=" + (dir_ / "tls/server.key").string());
  }
  try {
    child_ = std::make_unique<ChildProcess>(argv, ChildProcess::Options{});
  } catch (const std::exception& e) {
    return e.what();
  }
  // etcd serves its client port only once it has a leader and has
  // published itself (embed/serve.go waits for ReadyNotify, then says so).
  if (!child_->wait_for_output("serving client traffic", deadline)) {
    return (child_->running() ? "etcd did not get ready in time: " : "etcd exited: ") +
           child_->command_line() + "\n" + output();
  }
  if (!child_->wait_for_port(client_port_, deadline)) {
    return "etcd does not accept on 127.0.0.1:" + std::to_string(client_port_) + ": " +
           child_->command_line() + "\n" + output();
  }
  return "";
}

void EtcdServer::stop() {
  // Keeps child_, so output() still tells what happened.
  if (child_ && child_->running() && !child_->signal_and_wait(SIGTERM, Millis(10000))) {
    child_->kill_group();
  }
}

bool EtcdServer::running() { return child_ && child_->running(); }

std::string EtcdServer::output() const { return child_ ? child_->output() : std::string(); }

}  // namespace tlsgate::test
