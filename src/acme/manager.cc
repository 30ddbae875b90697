#include "acme/manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "acme/client.h"
#include "acme/http_responder.h"
#include "acme/manager_job.h"
#include "acme/schedule.h"
#include "pki/acme_challenge.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/jws.h"
#include "pki/loader.h"
#include "tls/certificate_pair.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::acme {
namespace {

namespace fs = std::filesystem;

// tls-alpn-01 through the gate's own listeners.
class GateResponder final : public ChallengeResponder {
 public:
  explicit GateResponder(tls::AcmeChallengeStore& store) : store_(store) {}
  util::Status publish(ChallengeKind kind, const std::string& identifier,
                       const std::string& /*token*/,
                       const std::string& key_authorization) override {
    if (kind != ChallengeKind::kTlsAlpn01) {
      return util::fail("the gate's listeners answer only tls-alpn-01 challenges");
    }
    auto made = pki::make_tls_alpn01_certificate(identifier, key_authorization);
    if (!made) return util::fail(made.error());
    return store_.add(identifier, made->certificate.get(), made->key.get());
  }
  void withdraw(ChallengeKind /*kind*/, const std::string& identifier,
                const std::string& /*token*/) override {
    store_.remove(identifier);
  }

 private:
  tls::AcmeChallengeStore& store_;
};

Validity validity_of(const X509* leaf) {
  auto info = pki::describe(leaf, util::SystemClock::instance());
  return Validity{info.not_before, info.not_after};
}

util::Result<std::string> read_eab_key(const fs::path& file) {
  auto text = util::read_file(file);
  if (!text) return util::fail(text.error());
  return pki::decode_eab_hmac_key(*text, file.string());
}

double random_unit() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

struct Manager::Responders {
  std::unique_ptr<GateResponder> gate;
  std::map<std::string, std::unique_ptr<HttpResponder>> http;  // by acme_http_address
};

Manager::Manager(const config::Config& config, ManagerHost& host, Options options)
    : config_(config),
      host_(host),
      options_(options),
      responders_(std::make_unique<Responders>()) {}

Manager::~Manager() { stop(); }

util::Status make_policy_folders(const config::Config& config) {
  for (const auto& [scope, policy] : config.policies) {
    if (!policy.enabled || !policy.acme()) continue;
    std::error_code ec;
    fs::create_directories(policy.base_directory, ec);
    if (ec) {
      return util::fail(fmt::format("ssl.policy.{}.base_directory: cannot create {}: {}", scope,
                                    policy.base_directory.string(), ec.message()));
    }
  }
  return {};
}

util::Result<std::unique_ptr<Manager>> Manager::create(const config::Config& config,
                                                       ManagerHost& host, Options options,
                                                       ClusterLink* cluster) {
  std::unique_ptr<Manager> m(new Manager(config, host, options));
  for (const auto& [scope, policy] : config.policies) {
    if (!policy.enabled || !policy.acme()) continue;
    auto job = std::make_unique<Job>();
    job->policy = policy;
    job->names = config::acme_identifiers(config, scope);
    const auto prefix = job->key_prefix();
    if (policy.acme_challenge == config::AcmeChallenge::kHttp01) {
      const auto address = config::to_string(*policy.acme_http_address);
      auto& slot = m->responders_->http[address];
      if (!slot) {
        auto started = HttpResponder::start(address);
        if (!started) return util::fail(started.error().prefixed(prefix + "acme_http_address"));
        slot = std::move(*started);
      }
      job->responder = slot.get();
    } else {
      if (!m->responders_->gate) {
        m->responders_->gate = std::make_unique<GateResponder>(host.challenges());
      }
      job->responder = m->responders_->gate.get();
    }
    const auto& scopes = config.cluster.scopes;
    if (cluster && config.cluster.enabled &&
        std::find(scopes.begin(), scopes.end(), scope) != scopes.end()) {
      cluster->answer_with(scope, *job->responder);
      job->responder = &cluster->publisher(scope);
      job->cluster = cluster;
    }
    if (!policy.acme_eab_kid.empty()) {
      auto key = read_eab_key(policy.acme_eab_hmac_file);
      if (!key) return util::fail(key.error().prefixed(prefix + "acme_eab_hmac_file"));
      job->eab = ExternalAccountBinding{policy.acme_eab_kid, std::move(*key)};
    }
    job->status.scope = scope;
    job->status.directory = policy.acme_directory;
    job->status.names = job->names;
    m->jobs_.push_back(std::move(job));
  }
  if (m->jobs_.empty()) return std::unique_ptr<Manager>{};
  return m;
}

void Manager::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

void Manager::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

std::vector<PolicyStatus> Manager::status() const {
  util::MutexLock lock(mu_);
  return status_;
}

void Manager::run(const std::stop_token& stop) {
  const auto& clock = util::SystemClock::instance();
  for (auto& job : jobs_) {
    job->due = clock.now();  // attempt() decides what is due from the files
  }
  while (!stop.stop_requested()) {
    auto next = std::min_element(jobs_.begin(), jobs_.end(),
                                 [](const auto& a, const auto& b) { return a->due < b->due; });
    Job& job = **next;
    {
      util::MutexLock lock(mu_);
      status_.clear();
      for (const auto& j : jobs_) status_.push_back(j->status);
      cv_.wait_until(mu_, stop, job.due, [] { return false; });
    }
    if (stop.stop_requested()) break;
    attempt(job, stop);
  }
}

bool Manager::cluster_turn(Job& job) {
  const auto turn = job.cluster->turn(job.policy.scope);
  std::string state;
  if (!turn.mine) {
    state = turn.holder.empty() ? "no node holds the renewal lock yet; waiting for one"
                                : "node " + turn.holder + " renews it for the cluster";
  } else if (!turn.busy.empty()) {
    state = "this node renews it; waiting for " + turn.busy;
  }
  if (state != job.cluster_state) {
    spdlog::info("{}acme_directory: cluster-wide (cluster.scopes): {}", job.key_prefix(),
                 state.empty() ? "this node renews it for the cluster now" : state);
    job.cluster_state = state;
  }
  if (state.empty()) return true;
  job.planned = false;  // chosen again from the files once it is this node's turn
  // Another node's (or the replacement's) business now: this node's own
  // failures must not make it order at once when its turn comes back.
  if (!turn.mine) job.failures_in_row = 0;
  job.due = util::SystemClock::instance().now() + options_.cluster_recheck;
  job.status.next_attempt = job.due;
  return false;
}

void Manager::attempt(Job& job, const std::stop_token& stop) {
  const auto& clock = util::SystemClock::instance();
  const auto prefix = job.key_prefix();
  std::optional<Validity> current;
  bool names_covered = false;
  pki::X509Ptr leaf;
  if (auto certs = pki::load_certificates(job.policy.public_certificate); certs) {
    leaf = std::move(certs->front());
    current = validity_of(leaf.get());
    names_covered = std::all_of(job.names.begin(), job.names.end(), [&](const std::string& n) {
      return tls::names_cover(leaf.get(), n);
    });
  }
  job.status.has_certificate = current.has_value();
  if (current) job.status.not_after = current->not_after;
  // A node whose turn it is not never contacts the CA for the policy.
  if (job.cluster && !cluster_turn(job)) return;

  // Not yet due: a certificate that names everything, before the moment
  // chosen for it (once per certificate, so the jitter cannot push it on).
  const bool reached = job.planned && clock.now() >= job.due;
  if (current && names_covered && job.failures_in_row == 0 && !reached) {
    auto at = renewal_time(*current, random_unit());
    bool planned = true;
    // ARI: the CA's window; asked again after its Retry-After while the
    // window is further away (an incident may move it earlier).
    if (open_directory(job) && job.client->has_renewal_info()) {
      if (auto window = job.client->renewal_info(leaf.get()); window) {
        at = moment_in_window(window->window_start, window->window_end, random_unit());
        if (at > clock.now() + window->retry_after) {
          at = clock.now() + window->retry_after;
          planned = false;
        }
      }
    }
    if (at > clock.now()) {
      job.due = at;
      job.planned = planned;
      job.status.next_attempt = at;
      spdlog::info(
          "{}acme_directory: certificate valid until {:%Y-%m-%d %H:%M:%S} UTC; {} at "
          "{:%Y-%m-%d %H:%M:%S} UTC",
          prefix, current->not_after,
          planned ? "renewal due" : "the CA's renewal window (ARI) is asked again", at);
      return;
    }
  }
  job.planned = false;
  const char* why = !current         ? "no certificate yet"
                    : !names_covered ? "the certificate does not name every name of acme_names"
                                     : "renewal due";
  spdlog::info("{}acme_directory: obtaining a certificate for {} from {} ({}, {})", prefix,
               util::join(job.names, ", "), job.policy.acme_directory, why,
               config::to_string(job.policy.acme_challenge));
  auto renewed = renew(job, stop);
  if (stop.stop_requested()) return;
  if (renewed) {
    job.failures_in_row = 0;
    ++job.status.issued;
    job.status.last_error.clear();
    job.due = clock.now();  // the next pass reads the new files and schedules
    return;
  }
  job.client.reset();  // look the directory and the account up again next time
  job.registered = false;
  ++job.failures_in_row;
  ++job.status.failures;
  job.status.last_error = renewed.error().message();
  auto delay = retry_delay(job.failures_in_row, current, clock.now());
  job.due = clock.now() + delay;
  job.status.next_attempt = job.due;
  spdlog::error("{}acme_directory: {}; {}; next try in {} s", prefix, renewed.error().message(),
                current ? "the current certificate is still served"
                        : "clients are refused until a certificate is obtained",
                delay.count());
}

}  // namespace tlsgate::acme
