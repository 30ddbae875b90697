#include "support/pebble_server.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/loopback.h"

namespace tlsgate::test {

PebbleServer::PebbleServer() : PebbleServer(Options{}) {}

PebbleServer::PebbleServer(Options options)
    : options_(std::move(options)), ca_(make_test_ca("pebble HTTPS test CA")) {
  if (options_.http_port == 0) options_.http_port = free_loopback_port();
  if (options_.tls_port == 0) options_.tls_port = free_loopback_port();
  acme_port_ = free_loopback_port();
  management_port_ = free_loopback_port();
  dns_port_ = free_loopback_port();
  dns_management_port_ = free_loopback_port();
  auto leaf = make_leaf(ca_, options_.server_names);
  write_cert(ca_bundle(), ca_.ca.cert.get());
  write_cert(dir_ / "pebble.crt", leaf.cert.get());
  write_key(dir_ / "pebble.key", leaf.key.get());
  nlohmann::json pebble{
      {"listenAddress", "127.0.0.1:" + std::to_string(acme_port_)},
      {"managementListenAddress", "127.0.0.1:" + std::to_string(management_port_)},
      {"certificate", (dir_ / "pebble.crt").string()},
      {"privateKey", (dir_ / "pebble.key").string()},
      {"httpPort", options_.http_port},
      {"tlsPort", options_.tls_port},
      {"ocspResponderURL", ""},
      {"externalAccountBindingRequired", options_.eab_required},
      {"retryAfter",
       {{"authz", options_.retry_after_seconds}, {"order", options_.retry_after_seconds}}},
  };
  if (!options_.eab_keys.empty()) pebble["externalAccountMACKeys"] = options_.eab_keys;
  if (options_.validity_seconds > 0) {
    pebble["certificateValidityPeriod"] = options_.validity_seconds;
  }
  write_text(dir_ / "pebble.json", nlohmann::json{{"pebble", pebble}}.dump(2));
}

PebbleServer::~PebbleServer() { stop(); }

std::string PebbleServer::directory_url() const {
  return "https://127.0.0.1:" + std::to_string(acme_port_) + "/dir";
}

std::string PebbleServer::start(Millis deadline) {
  stop();
  ChildProcess::Options out;
  out.output_file = dir_ / "challtestsrv.log";
  dns_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6",
                               "", "-dns01", "127.0.0.1:" + std::to_string(dns_port_),
                               "-management", "127.0.0.1:" + std::to_string(dns_management_port_),
                               "-http01", "", "-https01", "", "-tlsalpn01", ""},
      out);
  if (!dns_->wait_for_port(dns_management_port_, deadline) ||
      !dns_->wait_for_port(dns_port_, deadline)) {
    return "pebble-challtestsrv did not start: " + dns_->output();
  }
  out.output_file = dir_ / "pebble.log";
  pebble_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          "env", "PEBBLE_VA_NOSLEEP=1",
          "PEBBLE_WFE_NONCEREJECT=" + std::to_string(options_.nonce_reject_percent), "pebble",
          "-config", (dir_ / "pebble.json").string(), "-dnsserver",
          "127.0.0.1:" + std::to_string(dns_port_)},
      out);
  if (!pebble_->wait_for_port(acme_port_, deadline) ||
      !pebble_->wait_for_port(management_port_, deadline)) {
    return "pebble did not start: " + pebble_->output();
  }
  return "";
}

void PebbleServer::stop() {
  pebble_.reset();  // SIGTERM, reaped
  dns_.reset();
}

bool PebbleServer::running() { return pebble_ && pebble_->running() && dns_ && dns_->running(); }

std::string PebbleServer::issuing_root_pem() const {
  auto r = run_shell("curl -sS --max-time 10 --cacert " + q(ca_bundle()) +
                     " https://127.0.0.1:" + std::to_string(management_port_) + "/roots/0");
  if (r.code != 0 || r.out.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw std::runtime_error("cannot fetch pebble's root from /roots/0: " + r.out + r.err);
  }
  return r.out;
}

std::string PebbleServer::output() const {
  return "pebble-challtestsrv:\n" + (dns_ ? dns_->output() : "") + "\npebble:\n" +
         (pebble_ ? pebble_->output() : "");
}

}  // namespace tlsgate::test
