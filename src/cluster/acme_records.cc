#include "cluster/acme_records.h"

#include <nlohmann/json.hpp>

namespace tlsgate::cluster {
namespace {

using nlohmann::json;

std::string text_of(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string to_json(const AcmeLock& lock) {
  return json{{"node", lock.node}, {"since", lock.since}}.dump();
}

std::string to_json(const AcmeChallenge& c) {
  return json{{"kind", acme::challenge_type(c.kind)},
              {"identifier", c.identifier},
              {"token", c.token},
              {"key_authorization", c.key_authorization},
              {"renewer", c.renewer}}
      .dump();
}

util::Result<AcmeChallenge> parse_acme_challenge(const std::string& key, const std::string& text) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return util::fail("etcd record " + key +
                      " is not a JSON object; it was not written by tlsgate");
  }
  AcmeChallenge c;
  const auto kind = text_of(j, "kind");
  if (kind == "tls-alpn-01") {
    c.kind = acme::ChallengeKind::kTlsAlpn01;
  } else if (kind == "http-01") {
    c.kind = acme::ChallengeKind::kHttp01;
  } else {
    return util::fail("etcd record " + key + ": \"kind\" is \"" + kind +
                      "\", neither tls-alpn-01 nor http-01");
  }
  c.identifier = text_of(j, "identifier");
  c.token = text_of(j, "token");
  c.key_authorization = text_of(j, "key_authorization");
  c.renewer = text_of(j, "renewer");
  // RFC 8555 8.1: the key authorization starts with the token and a dot.
  if (c.identifier.empty() || c.token.empty() || !c.key_authorization.starts_with(c.token + ".")) {
    return util::fail("etcd record " + key +
                      " lacks an identifier, a token or a key authorization that starts with "
                      "the token; it is not answered");
  }
  return c;
}

std::optional<AcmeLock> acme_lock(const Keys& keys, const std::string& scope, const KvMap& kvs) {
  auto it = kvs.find(keys.acme_lock(scope));
  if (it == kvs.end()) return std::nullopt;
  AcmeLock lock;
  lock.mod_revision = it->second.mod_revision;
  lock.lease = it->second.lease;
  auto j = json::parse(it->second.value, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) lock.node = text_of(j, "node");
  if (lock.node.empty()) lock.node.push_back('?');
  if (j.is_object() && j.contains("since") && j["since"].is_number_integer()) {
    lock.since = j["since"].get<int64_t>();
  }
  return lock;
}

std::optional<Condition> acme_lock_takeover(const Keys& keys, const std::string& scope,
                                            const KvMap& kvs, const std::string& node,
                                            int64_t lease) {
  auto lock = acme_lock(keys, scope, kvs);
  if (!lock) return Condition{keys.acme_lock(scope), 0};
  if (lock->node == node && lock->lease != lease) {
    return Condition{keys.acme_lock(scope), lock->mod_revision};
  }
  return std::nullopt;
}

std::map<std::string, AcmeChallenge> acme_challenges(const Keys& keys, const std::string& scope,
                                                     const KvMap& kvs,
                                                     std::vector<std::string>* problems) {
  std::map<std::string, AcmeChallenge> out;
  const auto prefix = keys.acme_challenges(scope);
  for (auto it = kvs.lower_bound(prefix); it != kvs.end() && it->first.starts_with(prefix); ++it) {
    auto c = parse_acme_challenge(it->first, it->second.value);
    if (!c) {
      if (problems) problems->push_back(c.error().message());
      continue;
    }
    if (c->token != it->first.substr(prefix.size())) {
      if (problems) {
        problems->push_back("etcd record " + it->first +
                            ": its token is not the key's last part; it is not answered");
      }
      continue;
    }
    out[c->token] = std::move(*c);
  }
  return out;
}

std::vector<std::string> acme_not_answering(const Keys& keys, const std::string& scope,
                                            const KvMap& kvs, int64_t revision) {
  std::vector<std::string> missing;
  const auto alive = keys.alive();
  for (auto it = kvs.lower_bound(alive); it != kvs.end() && it->first.starts_with(alive); ++it) {
    const auto node = it->first.substr(alive.size());
    auto ack = kvs.find(keys.acme_answering(scope, node));
    int64_t upto = 0;
    if (ack != kvs.end()) {
      try {
        upto = std::stoll(ack->second.value);
      } catch (const std::exception&) {
        upto = 0;
      }
    }
    if (upto < revision) missing.push_back(node);
  }
  return missing;
}

}  // namespace tlsgate::cluster
