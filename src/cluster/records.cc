#include "cluster/records.h"

#include <nlohmann/json.hpp>

#include "pki/base64.h"

namespace tlsgate::cluster {
namespace {

using nlohmann::json;

template <typename T>
util::Result<T> field(const json& j, const char* name, const std::string& key) {
  auto it = j.find(name);
  if (it == j.end()) return util::fail("etcd record " + key + " has no \"" + name + "\"");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return util::fail("etcd record " + key + ": \"" + name + "\" has the wrong type");
  }
}

template <typename T>
T optional_field(const json& j, const char* name, T fallback) {
  auto it = j.find(name);
  if (it == j.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

util::Result<json> parse_object(const std::string& key, const std::string& text) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return util::fail("etcd record " + key +
                      " is not a JSON object; it was not written by tlsgate");
  }
  return j;
}

std::string last_segment(const std::string& key) { return key.substr(key.rfind('/') + 1); }

template <typename E>
util::Result<E> enum_field(const json& j, const char* name, const std::string& key,
                           std::initializer_list<E> values) {
  auto text = field<std::string>(j, name, key);
  if (!text) return util::fail(text.error());
  for (E v : values) {
    if (*text == to_string(v)) return v;
  }
  return util::fail("etcd record " + key + ": \"" + name + "\" is \"" + *text +
                    "\", which this version does not know");
}

}  // namespace

Keys keys_for(const std::string& key_prefix, const std::string& cluster_name) {
  std::string base = key_prefix;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return Keys{base + "/" + cluster_name + "/"};
}

const char* to_string(RecordState s) {
  switch (s) {
    case RecordState::kProposed:
      return "proposed";
    case RecordState::kCommitted:
      return "committed";
    case RecordState::kAborted:
      return "aborted";
  }
  return "?";
}

const char* to_string(NodeState s) {
  switch (s) {
    case NodeState::kTrusting:
      return "trusting";
    case NodeState::kStaged:
      return "staged";
    case NodeState::kFailed:
      return "failed";
    case NodeState::kApplied:
      return "applied";
  }
  return "?";
}

std::string to_json(const Member& m) {
  return json{{"node", m.node},
              {"listen_hosts", m.listen_hosts},
              {"serving", m.serving},
              {"started", m.started}}
      .dump();
}

std::string to_json(const Replacement& r) {
  json j{{"id", r.id},
         {"scope", r.scope},
         {"proposer", r.proposer},
         {"proposed_at", r.proposed_at},
         {"certificate", r.certificate_pem},
         {"key",
          {{"alg", "AES-256-GCM"},
           {"kid", r.key.key_id},
           {"nonce", pki::encode_base64(r.key.nonce)},
           {"ciphertext", pki::encode_base64(r.key.ciphertext)}}},
         {"trust", r.trust_pem},
         {"serial", r.serial},
         {"not_after", r.not_after},
         {"immediate", r.immediate},
         {"state", to_string(r.state)}};
  if (r.state != RecordState::kProposed) {
    j["reason"] = r.commit_reason;
    j["decided_by"] = r.decided_by;
    j["decided_at"] = r.decided_at;
  }
  return j.dump();
}

std::string to_json(const Report& r) {
  return json{{"node", r.node},
              {"state", to_string(r.state)},
              {"reason", r.reason},
              {"serial", r.serial},
              {"at", r.at}}
      .dump();
}

util::Result<Member> parse_member(const std::string& key, const std::string& text) {
  auto j = parse_object(key, text);
  if (!j) return util::fail(j.error());
  Member m;
  m.node = last_segment(key);
  try {
    m.listen_hosts = optional_field(*j, "listen_hosts", m.listen_hosts);
    m.serving = optional_field(*j, "serving", m.serving);
  } catch (const json::exception&) {
    return util::fail("etcd record " + key + " has malformed listen_hosts or serving");
  }
  m.started = optional_field<int64_t>(*j, "started", 0);
  return m;
}

util::Result<Replacement> parse_replacement(const std::string& key, const std::string& text) {
  auto j = parse_object(key, text);
  if (!j) return util::fail(j.error());
  Replacement r;
  r.id = last_segment(key);
  auto scope = field<std::string>(*j, "scope", key);
  auto cert = field<std::string>(*j, "certificate", key);
  auto state = enum_field(*j, "state", key,
                          {RecordState::kProposed, RecordState::kCommitted, RecordState::kAborted});
  auto sealed = field<json>(*j, "key", key);
  for (const util::Error* e :
       {scope ? nullptr : &scope.error(), cert ? nullptr : &cert.error(),
        state ? nullptr : &state.error(), sealed ? nullptr : &sealed.error()}) {
    if (e) return util::fail(*e);
  }
  r.scope = *scope;
  r.certificate_pem = *cert;
  r.state = *state;
  r.key.key_id = optional_field<std::string>(*sealed, "kid", "");
  auto nonce = pki::decode_base64(optional_field<std::string>(*sealed, "nonce", ""));
  auto ct = pki::decode_base64(optional_field<std::string>(*sealed, "ciphertext", ""));
  if (!nonce || !ct) return util::fail("etcd record " + key + ": the sealed key is not base64");
  r.key.nonce = std::move(*nonce);
  r.key.ciphertext = std::move(*ct);
  r.proposer = optional_field<std::string>(*j, "proposer", "");
  r.proposed_at = optional_field<int64_t>(*j, "proposed_at", 0);
  r.trust_pem = optional_field<std::string>(*j, "trust", "");
  r.serial = optional_field<std::string>(*j, "serial", "");
  r.not_after = optional_field<int64_t>(*j, "not_after", 0);
  r.immediate = optional_field<bool>(*j, "immediate", false);
  r.commit_reason = optional_field<std::string>(*j, "reason", "");
  r.decided_by = optional_field<std::string>(*j, "decided_by", "");
  r.decided_at = optional_field<int64_t>(*j, "decided_at", 0);
  return r;
}

util::Result<Report> parse_report(const std::string& key, const std::string& text) {
  auto j = parse_object(key, text);
  if (!j) return util::fail(j.error());
  auto state = enum_field(
      *j, "state", key,
      {NodeState::kTrusting, NodeState::kStaged, NodeState::kFailed, NodeState::kApplied});
  if (!state) return util::fail(state.error());
  Report r;
  r.node = last_segment(key);
  r.state = *state;
  r.reason = optional_field<std::string>(*j, "reason", "");
  r.serial = optional_field<std::string>(*j, "serial", "");
  r.at = optional_field<int64_t>(*j, "at", 0);
  return r;
}

}  // namespace tlsgate::cluster
