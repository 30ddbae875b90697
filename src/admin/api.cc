#include "admin/api.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "acme/manager.h"
#include "admin/certificate_upload.h"
#include "admin/dashboard/assets.h"
#include "admin/json_views.h"
#include "admin/metrics.h"
#include "cluster/status_json.h"
#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "util/atomic_file.h"
#include "util/peer_text.h"

namespace tlsgate::admin {
namespace {

using nlohmann::json;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10000;

std::string dump(const json& j) {
  // Names from certificates may hold bytes that are not UTF-8.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiResponse json_response(unsigned status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.body = dump(j);
  return r;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc() || p != s.data() + i + 3) return std::nullopt;
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Target {
  std::string path;
  std::map<std::string, std::string> query;
  bool ok = true;
};

Target split_target(std::string_view target) {
  Target t;
  auto q = target.find('?');
  auto path = percent_decode(target.substr(0, q));
  if (!path) t.ok = false;
  t.path = path.value_or("");
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq));
    auto v = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!k || !v) {
      t.ok = false;
      continue;
    }
    t.query[*k] = *v;
  }
  return t;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

ApiResponse method_not_allowed(const std::string& path, const std::string& method) {
  // HEAD is served wherever GET is (RFC 9110 9.3.2).
  const std::string allow = method == "GET" ? "GET, HEAD" : method;
  auto r = error_response(405, "method not allowed on " + path, "use " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// "host" of "host:port" / "[v6]:port"; "" for an address that means any.
std::string host_of(const std::string& address) {
  std::string host;
  if (address.starts_with('[')) {
    host = address.substr(1, address.find(']') - 1);
  } else {
    host = address.substr(0, address.rfind(':'));
  }
  return config::is_any_address(host) ? "" : host;
}

}  // namespace

ApiResponse error_response(unsigned status, const std::string& error, const std::string& fix) {
  return json_response(status, error_json(error, fix));
}

Api::Api(Backend& backend, ApiOptions options) : backend_(backend), options_(std::move(options)) {}

void Api::handle(const ApiRequest& req, Listener listener, std::function<void(ApiResponse)> done) {
  if (req.method == "HEAD") {
    // Answered as GET, status and headers alike; the server sends no body
    // (admin_server.cc).
    ApiRequest get = req;
    get.method = "GET";
    return handle(get, listener, std::move(done));
  }
  auto target = split_target(req.target);
  if (!target.ok) {
    return done(error_response(400, "the request target is not well-formed percent-encoding",
                               "encode the path and query as RFC 3986 says"));
  }
  const std::string& path = target.path;
  const auto now = options_.clock->now();

  if (listener == Listener::kAdmin && req.role == Role::kNone) {
    spdlog::warn(
        "admin API: client {} (identity {}) refused: in neither admin.allowed_identities nor "
        "admin.read_only_identities",
        req.peer, util::quoted_peer_text(req.identity));
    return done(error_response(403, "identity \"" + req.identity + "\" may not use the admin API",
                               "add it to admin.read_only_identities or admin.allowed_identities"));
  }
  if (path == "/healthz" || path == "/metrics") {
    // Every listed identity may read them, and on the plaintext metrics
    // listener anyone who reaches it.
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    if (path == "/healthz") return done(json_response(200, {{"status", "ok"}}));
    ApiResponse r;
    r.content_type = kMetricsContentType;
    std::optional<cluster::ClusterStatus> cluster;
    if (options_.cluster) cluster = options_.cluster->status();
    std::optional<std::vector<acme::PolicyStatus>> acme;
    if (options_.acme) acme = options_.acme->status();
    r.body = metrics_text(backend_.status(), cluster ? &*cluster : nullptr, acme ? &*acme : nullptr,
                          &listener_counts_);
    return done(std::move(r));
  }
  if (listener == Listener::kMetrics) {
    return done(
        error_response(404, "no " + path + " here: this listener serves only /metrics and /healthz",
                       "use the HTTPS admin listener (admin.listen_address)"));
  }
  auto forbid_write = [&]() -> bool {
    if (permits(req.role, req.method)) return false;
    // The path is percent-decoded: %0A would end the line. Peer text, escaped.
    spdlog::warn("admin API: client {} (identity {}, read-only) refused: {} {}", req.peer,
                 util::quoted_peer_text(req.identity), util::escape_peer_text(req.method, 16),
                 util::escape_peer_text(path, 300));
    done(error_response(403, "identity \"" + req.identity + "\" may only read (GET)",
                        "add it to admin.allowed_identities to let it change things"));
    return true;
  };

  if (const Asset* asset = find_asset(path)) {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    ApiResponse r;
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->body);
    return done(std::move(r));
  }
  if (path == "/v1/status") {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    auto status = backend_.status();
    auto j = status_json(status, now);
    if (!options_.version.empty()) j["version"] = options_.version;
    j["caller"] = {{"identity", req.identity}, {"can_write", req.role == Role::kReadWrite}};
    return done(json_response(200, j));
  }
  if (path == "/v1/certificates") {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    return done(json_response(200, certificates_json(backend_.status(), now)));
  }
  if (path == "/v1/connections") {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    size_t limit = kDefaultLimit;
    if (auto it = target.query.find("limit"); it != target.query.end()) {
      auto n = parse_u64(it->second);
      if (!n || *n == 0 || *n > kMaxLimit) {
        return done(error_response(400, "limit=" + it->second + " is not a number from 1 to 10000",
                                   "give limit as a whole number from 1 to 10000"));
      }
      limit = *n;
    }
    std::string connector;
    if (auto it = target.query.find("connector"); it != target.query.end()) connector = it->second;
    if (!connector.empty()) {
      // A typo must not read as "no connections".
      auto status = backend_.status();
      std::string known;
      bool found = false;
      for (const auto& c : status.connectors) {
        found = found || c.name == connector;
        known += (known.empty() ? "" : ", ") + c.name;
      }
      if (!found) {
        return done(
            error_response(404, "no connector \"" + util::escape_peer_text(connector, 100) + "\"",
                           known.empty() ? std::string("no connector is configured")
                                         : "name one of the configured connectors: " + known +
                                               ", or leave connector= out for all"));
      }
    }
    return backend_.connections(connector, limit,
                                [done](const std::vector<net::ConnectionInfo>& list) {
                                  done(json_response(200, connections_json(list)));
                                });
  }
  if (path.starts_with("/v1/connections/")) {
    if (req.method != "DELETE") return done(method_not_allowed(path, "DELETE"));
    if (forbid_write()) return;
    auto id = parse_u64(std::string_view(path).substr(std::string_view("/v1/connections/").size()));
    auto not_found = error_response(404, "no established connection " + path.substr(16),
                                    "list them with GET /v1/connections");
    if (!id) return done(std::move(not_found));
    return backend_.close_connection(*id, "admin API, identity \"" + req.identity + "\"",
                                     [done, not_found](bool found) mutable {
                                       if (!found) return done(std::move(not_found));
                                       ApiResponse r;
                                       r.status = 204;
                                       r.content_type.clear();
                                       done(std::move(r));
                                     });
  }
  if (path == "/v1/reload") {
    if (req.method != "POST") return done(method_not_allowed(path, "POST"));
    if (forbid_write()) return;
    spdlog::info("admin API: client {} (identity {}) asked for a reload", req.peer,
                 util::quoted_peer_text(req.identity));
    return backend_.reload([done](const net::ReloadOutcome& outcome) {
      auto j = reload_json(outcome);
      done(json_response(j["ok"].get<bool>() ? 200 : 400, j));
    });
  }
  if (path == "/v1/acme") {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    if (!options_.acme) {
      return done(error_response(404, "no policy uses ACME",
                                 "set ssl.policy.<scope>.acme_directory (docs/ACME.md)"));
    }
    return done(json_response(200, acme_json(options_.acme->status(), now)));
  }
  if (path == "/v1/cluster" || path.starts_with("/v1/cluster/")) {
    if (req.method != "GET" && forbid_write()) return;
    return cluster_request(path, req, std::move(done));
  }
  constexpr std::string_view kPolicies = "/v1/policies/";
  constexpr std::string_view kCertificate = "/certificate";
  if (path.starts_with(kPolicies) && path.ends_with(kCertificate) &&
      path.size() > kPolicies.size() + kCertificate.size()) {
    auto scope =
        path.substr(kPolicies.size(), path.size() - kPolicies.size() - kCertificate.size());
    if (scope.find('/') == std::string::npos) {
      if (req.method != "PUT") return done(method_not_allowed(path, "PUT"));
      if (forbid_write()) return;
      return put_certificate(scope, req, std::move(done));
    }
  }
  done(error_response(404, "no such path: " + path,
                      "see docs/ADMIN.md for the paths of the admin API"));
}

// The cluster's part of the API (docs/ADMIN.md, docs/CLUSTER.md). The
// writes go to etcd on the control loop, bounded by the etcd client's
// deadline (5 s) when etcd does not answer.
void Api::cluster_request(const std::string& path, const ApiRequest& req,
                          std::function<void(ApiResponse)> done) {
  auto* cluster = options_.cluster;
  if (!cluster) {
    return done(error_response(404, "this node is in no cluster (cluster.enabled=false)",
                               "set cluster.enabled=true and its keys (docs/CLUSTER.md)"));
  }
  const auto& clock = *options_.clock;
  const std::string who = "admin API, identity \"" + req.identity + "\"";
  if (path == "/v1/cluster") {
    if (req.method != "GET") return done(method_not_allowed(path, "GET"));
    return done(json_response(200, cluster::to_json(cluster->status())));
  }
  auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  auto text = [&](const char* name) -> std::string {
    if (!body.is_object()) return {};
    auto it = body.find(name);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (path == "/v1/cluster/replacements") {
    if (req.method != "POST") return done(method_not_allowed(path, "POST"));
    cluster::Proposal p;
    p.scope = text("scope");
    p.pair = {text("certificate"), text("private_key"), "new"};
    p.trust_pem = text("ca");
    p.immediate = body.is_object() && body.value("immediate", false);
    p.proposer = who;
    if (p.scope.empty() || p.pair.certificate_pem.empty() || p.pair.private_key_pem.empty()) {
      return done(error_response(
          400, "the body needs \"scope\", \"certificate\" (PEM chain) and \"private_key\"",
          "send {\"scope\": S, \"certificate\": PEM, \"private_key\": PEM} and optionally "
          "\"ca\" (a new issuer) and \"immediate\": true"));
    }
    auto facts = cluster->local_facts(p.scope);
    if (!facts) return done(error_response(400, facts.error().message(), "name a cluster scope"));
    auto id = cluster::propose(cluster->store(), cluster->keys(), cluster->box(), p, facts->target,
                               clock);
    util::wipe(p.pair.private_key_pem);
    if (!id) {
      auto j = error_json("the replacement of scope " + p.scope + " was refused",
                          "fix what the reasons say and propose again; nothing was written");
      j["reasons"] = id.error().reasons;
      return done(json_response(400, j));
    }
    spdlog::info("admin API: {} proposed cluster replacement {} for scope {}", who, *id, p.scope);
    return done(json_response(201, {{"id", *id}, {"scope", p.scope}}));
  }
  constexpr std::string_view kReplacements = "/v1/cluster/replacements/";
  if (path.starts_with(kReplacements)) {
    if (req.method != "DELETE") return done(method_not_allowed(path, "DELETE"));
    auto id = path.substr(kReplacements.size());
    if (auto aborted =
            cluster::abort_replacement(cluster->store(), cluster->keys(), id, who, clock);
        !aborted) {
      return done(error_response(409, aborted.error().message(), "see GET /v1/cluster"));
    }
    ApiResponse r;
    r.status = 204;
    r.content_type.clear();
    return done(std::move(r));
  }
  if (path == "/v1/cluster/retire-trust") {
    if (req.method != "POST") return done(method_not_allowed(path, "POST"));
    auto scope = text("scope");
    auto facts = cluster->local_facts(scope);
    if (!facts) return done(error_response(400, facts.error().message(), "name a cluster scope"));
    auto current = util::read_file(facts->target.policy.public_certificate);
    if (auto retired = cluster::retire_trust(cluster->store(), cluster->keys(), scope,
                                             text("issuer"), current ? *current : "", who, clock);
        !retired) {
      return done(error_response(400, retired.error().message(), "see GET /v1/cluster"));
    }
    return done(json_response(200, {{"scope", scope}, {"retiring", true}}));
  }
  done(error_response(404, "no such path: " + path,
                      "see docs/ADMIN.md for the paths of the admin API"));
}

void Api::put_certificate(const std::string& scope, const ApiRequest& req,
                          std::function<void(ApiResponse)> done) {
  auto status = backend_.status();
  const net::PolicyStatus* policy = net::policy_in_use(status, scope);
  if (!policy) {
    return done(error_response(404, "no policy \"" + scope + "\" is in use",
                               "name a policy that a connector or the admin listener uses"));
  }
  auto material = parse_upload(req.body);
  if (!material) {
    return done(error_response(
        400, "the upload was refused: " + material.error().message(),
        "send {\"certificate\": PEM, \"private_key\": PEM} or {\"pkcs12\": BASE64, \"password\": "
        "\"...\"}"));
  }
  // Nothing is written over a symbolic link (review s22 section 11).
  if (auto links = tls::refuse_symbolic_links(policy->context->policy); !links) {
    spdlog::warn("admin API: client {} (identity {}): certificate upload for policy {} refused: {}",
                 req.peer, util::quoted_peer_text(req.identity), scope, links.error().message());
    return done(error_response(
        409, "the certificate for policy " + scope + " was refused: " + links.error().message(),
        "nothing was changed"));
  }
  tls::PairTarget target;
  target.policy = policy->context->policy;
  target.serves_clients = policy->side == tls::Side::kServer;
  target.expand_commands = options_.expand_commands;
  if (target.serves_clients) {
    for (const auto& name : policy->connectors) {
      for (const auto& c : status.connectors) {
        if (c.name != name) continue;
        auto host = host_of(c.listen_address);
        if (!host.empty()) target.listen_hosts.push_back(host);
      }
    }
    // The admin listener serves its own policy: a certificate that does not
    // name its host locks every operator out of the API.
    const auto& admin_host = options_.admin_listen_host;
    if (scope == options_.admin_policy && !config::is_any_address(admin_host)) {
      if (std::find(target.listen_hosts.begin(), target.listen_hosts.end(), admin_host) ==
          target.listen_hosts.end()) {
        target.listen_hosts.push_back(admin_host);
      }
      target.listen_host_keys.emplace(admin_host, "admin.listen_address");
    }
  }
  auto checked = tls::check_pair(*material, target, *options_.clock);
  if (!checked) {
    const auto& reasons = checked.error().reasons;
    std::string words;
    for (const auto& r : reasons) words += (words.empty() ? "" : "; ") + r;
    spdlog::warn("admin API: client {} (identity {}): certificate upload for policy {} refused: {}",
                 req.peer, util::quoted_peer_text(req.identity), scope, words);
    auto j = error_json("the certificate for policy " + scope + " was refused: " + words,
                        "fix what the reasons say and upload again; nothing was changed");
    j["reasons"] = reasons;
    return done(json_response(400, j));
  }
  if (auto installed = tls::install_pair(*material, target.policy); !installed) {
    return done(error_response(500, "policy " + scope + ": " + installed.error().message(),
                               "check the folder's permissions; the old files are kept as .bak"));
  }
  auto certs = pki::parse_certificates(material->certificate_pem, "upload");
  json cert = nullptr;
  if (certs && !certs->empty()) {
    cert =
        certificate_json(pki::describe((*certs)[0].get(), *options_.clock), options_.clock->now());
  }
  spdlog::info("admin API: client {} (identity {}) replaced the certificate of policy {}", req.peer,
               util::quoted_peer_text(req.identity), scope);
  backend_.reload_policy(scope, [this, scope, policy = target.policy, done = std::move(done),
                                 cert](const net::ReloadOutcome& outcome) {
    auto j = reload_json(outcome);
    j["certificate"] = cert;
    if (j["ok"].get<bool>()) return done(json_response(200, j));
    // The same material built a moment ago, so this should not happen; if
    // it does, the old pair goes back and is served again.
    auto restored = tls::restore_pair_backup(policy);
    spdlog::error("admin API: policy {} did not reload after its new certificate was written; {}",
                  scope, restored ? "the old pair is back" : restored.error().message());
    j["error"] = "the new files were written but the policy did not reload" +
                 std::string(restored ? "; the old pair is back in place" : "");
    j["fix"] = "see \"policies\" for the error";
    backend_.reload_policy(scope,
                           [done, j](const net::ReloadOutcome&) { done(json_response(500, j)); });
  });
}

}  // namespace tlsgate::admin
