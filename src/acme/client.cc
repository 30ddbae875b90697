#include "acme/client.h"

#include <charconv>

#include <fmt/format.h>

#include "acme/http_time.h"
#include "pki/jws.h"
#include "util/strings.h"

namespace tlsgate::acme {

namespace {

// A CA rejects a good nonce rarely; pebble in the tests half the time.
constexpr int kMaxBadNonceRetries = 16;
constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxSessions = 4;
constexpr const char* kProblemPrefix = "urn:ietf:params:acme:error:";

// Header values that go into signed JSON (nonces, Location URLs) must be
// printable ASCII: RFC 8555 nonces are base64url, URLs are ASCII.
bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

struct SplitUrl {
  std::string base;    // "https://host:port"
  std::string target;  // "/path"
};

util::Result<SplitUrl> split_url(const std::string& url) {
  auto scheme = url.find("://");
  if (url.size() > kMaxUrl || scheme == std::string::npos) {
    return util::fail(net::quoted_peer_text(url) + " is not an absolute http(s) URL");
  }
  auto slash = url.find('/', scheme + 3);
  SplitUrl out{url.substr(0, slash), slash == std::string::npos ? "/" : url.substr(slash)};
  return out;
}

}  // namespace

const char* challenge_type(ChallengeKind kind) {
  return kind == ChallengeKind::kTlsAlpn01 ? "tls-alpn-01" : "http-01";
}

Client::Client(ClientOptions options, pki::EvpPkeyPtr key, std::shared_ptr<const tls::Context> tls)
    : options_(std::move(options)), key_(std::move(key)), tls_(std::move(tls)) {}

Client::~Client() = default;

const std::string& Client::directory_url() const { return options_.directory_url; }

bool Client::has_renewal_info() const { return !directory_.renewal_info.empty(); }

util::Error Client::error(std::string_view step, std::string_view what) const {
  return util::Error(fmt::format("ACME server {}: {}: {}", options_.directory_url, step, what));
}

util::Result<std::unique_ptr<Client>> Client::open(ClientOptions options,
                                                   pki::EvpPkeyPtr account_key) {
  auto prefix = "ACME server " + options.directory_url;
  if (auto alg = pki::jws_algorithm(account_key.get()); !alg) {
    return util::fail(alg.error().prefixed(prefix + ": account key"));
  }
  auto thumbprint = pki::jwk_thumbprint(account_key.get());
  if (!thumbprint) return util::fail(thumbprint.error().prefixed(prefix + ": account key"));
  if (options.request_timeout.count() <= 0) options.request_timeout = std::chrono::seconds(30);
  if (options.poll_timeouts <= 0) options.poll_timeouts = 4;
  auto tls = net::bundle_client_context(options.ca_bundle);
  if (!tls) return util::fail(tls.error().prefixed(prefix + ": acme_ca_bundle"));
  std::unique_ptr<Client> client(new Client(std::move(options), std::move(account_key), *tls));
  client->thumbprint_ = *thumbprint;
  net::HttpRequest get;
  auto split = split_url(client->options_.directory_url);
  if (!split) return util::fail(split.error().prefixed(prefix + ": directory"));
  get.target = split->target;
  auto reply = client->exchange(get, client->options_.directory_url, "directory", kMaxJsonBody);
  if (!reply) return util::fail(reply.error());
  if (reply->status != 200) {
    return util::fail(
        client->error("directory", fmt::format("HTTP {}: {}; check acme_directory", reply->status,
                                               net::quoted_peer_text(reply->body))));
  }
  auto json = nlohmann::json::parse(reply->body, nullptr, false);
  auto text = [&](const char* name) -> std::string {
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : "";
  };
  if (!json.is_object() || text("newNonce").empty() || text("newAccount").empty() ||
      text("newOrder").empty()) {
    return util::fail(client->error(
        "directory", "the answer is not an ACME directory (newNonce, newAccount, newOrder): " +
                         net::quoted_peer_text(reply->body) + "; check acme_directory"));
  }
  client->directory_.new_nonce = text("newNonce");
  client->directory_.new_account = text("newAccount");
  client->directory_.new_order = text("newOrder");
  client->directory_.renewal_info = text("renewalInfo");
  auto meta = json.find("meta");
  if (meta != json.end() && meta->is_object()) {
    auto eab = meta->find("externalAccountRequired");
    client->directory_.external_account_required =
        eab != meta->end() && eab->is_boolean() && eab->get<bool>();
  }
  return client;
}

util::Result<net::HttpReply> Client::exchange(const net::HttpRequest& request,
                                              const std::string& url, std::string_view step,
                                              size_t max_body) {
  auto split = split_url(url);
  if (!split) return util::fail(error(step, split.error().message()));
  if (!split->base.starts_with("https://")) {
    return util::fail(error(
        step, net::quoted_peer_text(url) + " is not an https:// URL; ACME runs over HTTPS only"));
  }
  // A server that spreads its resources over many hosts gets no more than
  // a few kept connections.
  if (sessions_.size() >= kMaxSessions && sessions_.count(split->base) == 0) sessions_.clear();
  auto& session = sessions_[split->base];
  if (!session) {
    auto base = net::parse_base_url(split->base);
    if (!base) return util::fail(error(step, base.error().message()));
    auto tls = tls_;
    session = std::make_unique<net::HttpsSession>(*base, [tls] { return tls; });
  }
  net::HttpRequest req = request;
  req.target = split->target;
  auto deadline = net::Deadline::clock::now() + options_.request_timeout;
  auto reply = session->request(req, deadline, max_body);
  if (!reply) return util::fail(error(step, reply.error().message()));
  return reply;
}

util::Result<std::string> Client::fresh_nonce(std::string_view step) {
  net::HttpRequest head;
  head.method = "HEAD";
  head.accept = "";
  auto reply = exchange(head, directory_.new_nonce, step, 0);
  if (!reply) return util::fail(reply.error());
  auto nonce = reply->header("Replay-Nonce");
  if (nonce.empty() || nonce.size() > 512 || !printable_ascii(nonce)) {
    return util::fail(error(
        step,
        fmt::format("newNonce answered HTTP {} without a usable Replay-Nonce", reply->status)));
  }
  return nonce;
}

util::Result<Client::Reply> Client::post(const std::string& url,
                                         const std::optional<nlohmann::json>& payload,
                                         std::string_view step, bool use_jwk,
                                         std::string_view accept, size_t max_body) {
  if (!use_jwk && account_url_.empty()) {
    return util::fail(error(step, "no account yet; call register_account() first"));
  }
  last_problem_.reset();
  for (int attempt = 0;; ++attempt) {  // bounded: kMaxBadNonceRetries
    if (nonce_.empty()) {
      auto nonce = fresh_nonce(step);
      if (!nonce) return util::fail(nonce.error());
      nonce_ = *nonce;
    }
    nlohmann::json header{{"nonce", nonce_}, {"url", url}};
    if (use_jwk) {
      auto jwk = pki::public_jwk(key_.get());
      if (!jwk) return util::fail(error(step, jwk.error().message()));
      header["jwk"] = *jwk;
    } else {
      header["kid"] = account_url_;
    }
    nonce_.clear();  // a nonce is good for one request
    auto jws = pki::sign_jws(
        key_.get(), header,
        payload ? payload->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : "");
    if (!jws) return util::fail(error(step, jws.error().message()));
    std::string body = jws->dump();
    net::HttpRequest req;
    req.method = "POST";
    req.content_type = "application/jose+json";
    req.body = body;
    req.accept = accept;
    auto reply = exchange(req, url, step, max_body);
    if (!reply) return util::fail(reply.error());
    if (auto n = reply->header("Replay-Nonce");
        !n.empty() && n.size() <= 512 && printable_ascii(n)) {
      nonce_ = n;
    }
    Reply out{std::move(*reply), nullptr};
    out.json = nlohmann::json::parse(out.http.body, nullptr, false);
    if (out.json.is_discarded()) out.json = nullptr;
    if (out.http.status < 400) return out;
    ProblemInfo problem{out.http.status, "", "",
                        retry_after_seconds(out.http.header("Retry-After"))};
    if (out.json.is_object()) {
      auto type = out.json.find("type");
      auto detail = out.json.find("detail");
      if (type != out.json.end() && type->is_string()) problem.type = type->get<std::string>();
      if (detail != out.json.end() && detail->is_string()) {
        problem.detail = detail->get<std::string>();
      }
    }
    last_problem_ = problem;
    if (problem.type == std::string(kProblemPrefix) + "badNonce" && attempt < kMaxBadNonceRetries) {
      ++bad_nonce_retries_;
      continue;  // with the nonce of this answer (or a fresh one)
    }
    if (problem.type.empty()) {
      return util::fail(error(
          step, fmt::format("HTTP {}: {}", out.http.status, net::quoted_peer_text(out.http.body))));
    }
    return util::fail(error(step, fmt::format("{}: {}", net::quoted_peer_text(problem.type),
                                              net::quoted_peer_text(problem.detail))));
  }
}

util::Result<std::string> Client::register_account(
    const std::string& email, const std::optional<ExternalAccountBinding>& eab) {
  const char* step = "newAccount";
  if (std::any_of(email.begin(), email.end(),
                  [](char c) { return c <= ' ' || c >= 0x7f || c == ',' || c == '%'; })) {
    return util::fail(
        error(step, "acme_email " + net::quoted_peer_text(email) + " is not an e-mail address"));
  }
  auto found =
      post(directory_.new_account, nlohmann::json{{"onlyReturnExisting", true}}, step, true);
  if (found) {
    auto location = found->http.header("Location");
    if (location.empty() || location.size() > kMaxUrl || !printable_ascii(location)) {
      return util::fail(
          error(step, "the answer has no usable Location: " + net::quoted_peer_text(location)));
    }
    account_url_ = location;
    return account_url_;
  }
  if (!last_problem_ ||
      last_problem_->type != std::string(kProblemPrefix) + "accountDoesNotExist") {
    return util::fail(found.error());
  }
  if (directory_.external_account_required && !eab) {
    return util::fail(error(step,
                            "the server requires an External Account Binding; set acme_eab_kid "
                            "and acme_eab_hmac_file to the key id and HMAC key the CA gave you"));
  }
  nlohmann::json payload{{"termsOfServiceAgreed", true}};
  if (!email.empty()) payload["contact"] = nlohmann::json::array({"mailto:" + email});
  if (eab) {
    auto binding = pki::sign_external_account_binding(eab->key_id, eab->hmac_key, key_.get(),
                                                      directory_.new_account);
    if (!binding) return util::fail(error(step, binding.error().message()));
    payload["externalAccountBinding"] = *binding;
  }
  auto created = post(directory_.new_account, payload, step, true);
  if (!created) return util::fail(created.error());
  auto location = created->http.header("Location");
  if (location.empty() || location.size() > kMaxUrl || !printable_ascii(location)) {
    return util::fail(
        error(step, "the answer has no usable Location: " + net::quoted_peer_text(location)));
  }
  account_url_ = location;
  return account_url_;
}

util::Result<std::string> Client::ari_certificate_id(const X509* certificate) {
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(pki::unconst(certificate));
  if (aki == nullptr) {
    return util::fail(
        "the certificate has no Authority Key Identifier keyIdentifier, which ARI needs");
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate);
  unsigned char* der = nullptr;
  int len = i2d_ASN1_INTEGER(serial, &der);
  if (len <= 2) return util::fail("cannot encode the certificate's serial number");
  pki::OpensslBytes owner(der);
  // Skip the tag and the length octets: ARI takes the content octets.
  size_t header = 2;
  if ((der[1] & 0x80) != 0) header += der[1] & 0x7f;
  if (header >= static_cast<size_t>(len)) return util::fail("cannot encode the serial number");
  std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                     static_cast<size_t>(ASN1_STRING_length(aki)));
  std::string serial_bytes(reinterpret_cast<const char*>(der) + header, len - header);
  return pki::base64url_encode(key_id) + "." + pki::base64url_encode(serial_bytes);
}

util::Result<RenewalInfo> Client::parse_renewal_info(std::string_view body,
                                                     std::string_view retry_after) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  auto bad = [&](std::string_view why) {
    return util::fail(fmt::format("renewalInfo: {}: {}", why, net::quoted_peer_text(body)));
  };
  if (!json.is_object()) return bad("not a JSON object");
  auto window = json.find("suggestedWindow");
  if (window == json.end() || !window->is_object()) return bad("no suggestedWindow");
  auto time_of = [&](const char* name) -> std::optional<util::SystemTime> {
    auto it = window->find(name);
    if (it == window->end() || !it->is_string()) return std::nullopt;
    return parse_time(it->get<std::string>());
  };
  auto start = time_of("start");
  auto end = time_of("end");
  if (!start || !end) return bad("suggestedWindow start or end is not an RFC 3339 time");
  if (*end <= *start) return bad("suggestedWindow ends before it starts");
  RenewalInfo info{*start, *end, std::chrono::seconds(21600), ""};
  if (auto s = retry_after_seconds(retry_after)) {
    // RFC 9773 4.3.3: at least a minute, at most a day between polls.
    info.retry_after = std::clamp(*s, std::chrono::seconds(60), std::chrono::seconds(86400));
  }
  auto url = json.find("explanationURL");
  if (url != json.end() && url->is_string()) info.explanation_url = url->get<std::string>();
  return info;
}

util::Result<RenewalInfo> Client::renewal_info(const X509* certificate) {
  const char* step = "renewalInfo";
  if (!has_renewal_info()) return util::fail(error(step, "the directory offers no renewalInfo"));
  auto id = ari_certificate_id(certificate);
  if (!id) return util::fail(error(step, id.error().message()));
  std::string url = directory_.renewal_info;
  if (!url.ends_with('/')) url += '/';
  net::HttpRequest get;
  auto reply = exchange(get, url + *id, step, size_t{64} * 1024);
  if (!reply) return util::fail(reply.error());
  if (reply->status != 200) {
    return util::fail(
        error(step, fmt::format("HTTP {}: {}", reply->status, net::quoted_peer_text(reply->body))));
  }
  auto info = parse_renewal_info(reply->body, reply->header("Retry-After"));
  if (!info) return util::fail(error(step, info.error().message()));
  return info;
}

}  // namespace tlsgate::acme
