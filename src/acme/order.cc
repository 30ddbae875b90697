// Client::obtain(): one order from newOrder to the downloaded chain.
#include <arpa/inet.h>

#include <condition_variable>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <openssl/pem.h>

#include "acme/client.h"
#include "acme/http_time.h"
#include "pki/csr.h"
#include "pki/jws.h"
#include "pki/loader.h"
#include "util/strings.h"

namespace tlsgate::acme {

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxPolls = 120;  // per authorization and for the order
constexpr size_t kMaxChainBody = size_t{512} * 1024;
constexpr size_t kMaxIdentifiers = 100;

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Sleeps d unless stop comes first; true when stopped.
bool wait_or_stop(const std::stop_token& stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
  return stop.stop_requested();
}

std::string text_of(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return "";
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// j[name], or null when j is no object or lacks it (value() would throw).
nlohmann::json member(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it != j.end() ? *it : nlohmann::json();
}

// "type: detail" of a problem object inside an authorization or order.
std::string problem_text(const nlohmann::json& problem) {
  if (!problem.is_object()) return "no reason given";
  std::string out = net::quoted_peer_text(text_of(problem, "type")) + ": " +
                    net::quoted_peer_text(text_of(problem, "detail"));
  nlohmann::json subs = member(problem, "subproblems");
  if (subs.is_array() && !subs.empty()) {
    out += " (first subproblem " + net::quoted_peer_text(text_of(subs[0], "type")) + ": " +
           net::quoted_peer_text(text_of(subs[0], "detail")) + ")";
  }
  return out;
}

// Withdraws every published challenge when obtain() returns.
struct Published {
  ChallengeResponder& responder;
  std::vector<std::tuple<ChallengeKind, std::string, std::string>> items;
  ~Published() {
    for (const auto& [kind, identifier, token] : items) responder.withdraw(kind, identifier, token);
  }
};

}  // namespace

util::Result<std::string> Client::obtain(const OrderInput& order, ChallengeResponder& responder,
                                         const std::stop_token& stop) {
  bool with_replaces = order.replaces.has_value() && has_renewal_info();
  auto chain = obtain_once(order, with_replaces, responder, stop);
  if (!chain && with_replaces && last_problem_ && last_problem_->http_status == 409 &&
      last_problem_->type == "urn:ietf:params:acme:error:alreadyReplaced") {
    // The certificate was replaced already (by us before a lost state
    // folder, or by another node): a plain new order repairs that.
    chain = obtain_once(order, false, responder, stop);
  }
  return chain;
}

util::Result<std::string> Client::obtain_once(const OrderInput& order, bool with_replaces,
                                              ChallengeResponder& responder,
                                              const std::stop_token& stop) {
  if (order.identifiers.empty() || order.identifiers.size() > kMaxIdentifiers) {
    return util::fail(error("newOrder", fmt::format("an order takes 1 to {} identifiers, not {}",
                                                    kMaxIdentifiers, order.identifiers.size())));
  }
  if (order.certificate_key == nullptr) {
    return util::fail(error("newOrder", "no certificate key for the CSR"));
  }
  const char* type = challenge_type(order.challenge);
  const auto poll_budget = options_.request_timeout * options_.poll_timeouts;

  // Polls url (POST-as-GET) until its status leaves `pending_states`, bounded in
  // count and time; Retry-After honoured within those bounds.
  auto poll = [&](const std::string& url, std::string_view step,
                  std::initializer_list<std::string_view> pending_states,
                  nlohmann::json current) -> util::Result<nlohmann::json> {
    auto end = SteadyClock::now() + poll_budget;
    std::chrono::milliseconds pause = 200ms;
    std::optional<std::chrono::seconds> advised;
    for (int i = 0; i < kMaxPolls; ++i) {
      std::string status = text_of(current, "status");
      bool pending =
          std::find(pending_states.begin(), pending_states.end(), status) != pending_states.end();
      if (!pending) return current;
      auto now = SteadyClock::now();
      if (now >= end) break;
      auto wait = advised ? std::chrono::duration_cast<std::chrono::milliseconds>(*advised) : pause;
      wait = std::clamp(wait, std::chrono::milliseconds(50), std::chrono::milliseconds(10s));
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
      if (wait_or_stop(stop, wait)) return util::fail(error(step, "stopped"));
      pause = std::min(pause * 2, std::chrono::milliseconds(2s));
      auto reply = post(url, std::nullopt, step);
      if (!reply) return util::fail(reply.error());
      current = reply->json;
      advised = retry_after_seconds(reply->http.header("Retry-After"));
    }
    return util::fail(error(step, fmt::format("still \"{}\" after {} s; the CA is slow or stuck",
                                              text_of(current, "status"), poll_budget.count())));
  };

  // newOrder
  nlohmann::json identifiers = nlohmann::json::array();
  for (const auto& id : order.identifiers) {
    identifiers.push_back({{"type", is_ip(id) ? "ip" : "dns"}, {"value", id}});
  }
  nlohmann::json payload{{"identifiers", identifiers}};
  if (with_replaces) payload["replaces"] = *order.replaces;
  auto created = post(directory_.new_order, payload, "newOrder");
  if (!created) return util::fail(created.error());
  std::string order_url = created->http.header("Location");
  nlohmann::json order_json = created->json;
  if (order_url.empty() || order_url.size() > 2048 || !order_json.is_object() ||
      std::any_of(order_url.begin(), order_url.end(),
                  [](char c) { return c <= ' ' || c >= 0x7f; })) {
    return util::fail(error("newOrder", "the answer has no Location or no order object"));
  }
  nlohmann::json authz_list = member(order_json, "authorizations");
  std::string finalize_url = text_of(order_json, "finalize");
  if (!authz_list.is_array() || finalize_url.empty() || authz_list.size() > kMaxIdentifiers) {
    return util::fail(error("newOrder", "the order has no authorizations or no finalize URL"));
  }

  // Authorizations: publish and answer each pending one, then poll them all.
  Published published{responder, {}};
  std::vector<std::pair<std::string, std::string>> to_poll;  // url, identifier
  for (const auto& entry : authz_list) {
    if (!entry.is_string()) return util::fail(error("newOrder", "an authorization is no URL"));
    std::string authz_url = entry.get<std::string>();
    auto authz = post(authz_url, std::nullopt, "authorization");
    if (!authz) return util::fail(authz.error());
    std::string identifier = text_of(member(authz->json, "identifier"), "value");
    std::string status = text_of(authz->json, "status");
    std::string step = "authorization of " + net::quoted_peer_text(identifier);
    if (status == "valid") continue;
    if (status != "pending") {
      return util::fail(error(step, "status " + net::quoted_peer_text(status)));
    }
    nlohmann::json challenges = member(authz->json, "challenges");
    const nlohmann::json* chosen = nullptr;
    std::vector<std::string> offered;
    if (challenges.is_array()) {
      for (const auto& c : challenges) {
        offered.push_back(text_of(c, "type"));
        if (text_of(c, "type") == type) chosen = &c;
      }
    }
    if (chosen == nullptr) {
      return util::fail(
          error(step, fmt::format("the server offers no {} challenge (it offers "
                                  "{}); set acme_challenge to one of those",
                                  type, net::quoted_peer_text(util::join(offered, ", ")))));
    }
    std::string token = text_of(*chosen, "token");
    std::string challenge_url = text_of(*chosen, "url");
    // RFC 8555 8.1: base64url characters only, so a token is safe in a path.
    if (token.empty() || token.size() > 256 || !pki::base64url_decode(token) ||
        challenge_url.empty()) {
      return util::fail(error(
          step, "the challenge has a bad token " + net::quoted_peer_text(token) + " or no URL"));
    }
    std::string key_authorization = token + "." + thumbprint_;
    if (auto s = responder.publish(order.challenge, identifier, token, key_authorization); !s) {
      return util::fail(error(
          step, "cannot answer the " + std::string(type) + " challenge: " + s.error().message()));
    }
    published.items.emplace_back(order.challenge, identifier, token);
    auto answered = post(challenge_url, nlohmann::json::object(), step);
    if (!answered) return util::fail(answered.error());
    to_poll.emplace_back(authz_url, identifier);
  }
  for (const auto& [authz_url, identifier] : to_poll) {
    std::string step = "authorization of " + net::quoted_peer_text(identifier);
    auto done = poll(authz_url, step, {"pending"}, nlohmann::json{{"status", "pending"}});
    if (!done) return util::fail(done.error());
    if (text_of(*done, "status") == "valid") continue;
    std::string why = "no reason given";
    nlohmann::json challenges = member(*done, "challenges");
    if (challenges.is_array()) {
      for (const auto& c : challenges) {
        if (text_of(c, "type") == type && c.is_object() && c.contains("error")) {
          why = problem_text(c["error"]);
        }
      }
    }
    return util::fail(error(step, fmt::format("the {} challenge failed: {}", type, why)));
  }

  // The order is ready: finalize with a CSR for exactly its identifiers.
  auto ready = poll(order_url, "order", {"pending"}, nlohmann::json{{"status", "pending"}});
  if (!ready) return util::fail(ready.error());
  if (text_of(*ready, "status") != "ready" && text_of(*ready, "status") != "valid") {
    return util::fail(error("order", "status " + net::quoted_peer_text(text_of(*ready, "status")) +
                                         ": " + problem_text(member(*ready, "error"))));
  }
  if (text_of(*ready, "status") == "ready") {
    pki::CsrRequest request;
    request.names = order.identifiers;
    request.existing_key = pki::up_ref(order.certificate_key);
    auto csr = pki::create_csr(request);
    if (!csr) return util::fail(error("finalize", csr.error().message()));
    unsigned char* der = nullptr;
    int len = i2d_X509_REQ(csr->request.get(), &der);
    if (len <= 0) return util::fail(error("finalize", "cannot encode the CSR"));
    pki::OpensslBytes owner(der);
    std::string csr_der(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    auto finalized =
        post(finalize_url, nlohmann::json{{"csr", pki::base64url_encode(csr_der)}}, "finalize");
    if (!finalized) return util::fail(finalized.error());
  }
  auto valid = poll(order_url, "order", {"pending", "ready", "processing"},
                    nlohmann::json{{"status", "processing"}});
  if (!valid) return util::fail(valid.error());
  std::string certificate_url = text_of(*valid, "certificate");
  if (text_of(*valid, "status") != "valid" || certificate_url.empty()) {
    return util::fail(error("order", "status " + net::quoted_peer_text(text_of(*valid, "status")) +
                                         ": " + problem_text(member(*valid, "error"))));
  }

  // The chain, leaf first; the leaf must carry our key.
  auto chain = post(certificate_url, std::nullopt, "certificate", false,
                    "application/pem-certificate-chain", kMaxChainBody);
  if (!chain) return util::fail(chain.error());
  auto certs = pki::parse_certificates(chain->http.body, certificate_url);
  if (!certs || certs->empty()) {
    return util::fail(
        error("certificate", "the answer is not a PEM certificate chain: " +
                                 (certs ? std::string("empty") : certs.error().message())));
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(certs->front().get()), order.certificate_key) != 1) {
    return util::fail(error("certificate", "the issued certificate is not for our key"));
  }
  return chain->http.body;
}

}  // namespace tlsgate::acme
