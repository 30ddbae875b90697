#include "cluster/etcd_store.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pki/base64.h"
#include "util/strings.h"

namespace tlsgate::cluster {

using Clock = std::chrono::steady_clock;

namespace {

using nlohmann::json;

// A range of every record of a cluster is a few KiB per member and
// replacement; this bounds what a confused server can make us hold.
constexpr size_t kMaxReplyBody = size_t{64} * 1024 * 1024;
constexpr size_t kMaxWatchMessage = size_t{64} * 1024 * 1024;

// gRPC status codes etcd's gateway puts in "code" that mean "ask another
// member": UNAVAILABLE (no leader, stopping), DEADLINE_EXCEEDED, ABORTED.
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcAborted = 10;
constexpr int kGrpcUnavailable = 14;
bool try_elsewhere(int http_status, int grpc_code) {
  return http_status >= 500 || grpc_code == kGrpcUnavailable ||
         grpc_code == kGrpcDeadlineExceeded || grpc_code == kGrpcAborted;
}

// An answer that is not what etcd sends; caught where the call is named.
struct BadReply {
  std::string what;
};

std::string b64(std::string_view bytes) { return pki::encode_base64(bytes); }

std::string unbase64(const std::string& text) {
  if (text.empty()) return {};
  auto bytes = pki::decode_base64(text);
  if (!bytes) throw BadReply{"a key or value is not base64"};
  return std::move(*bytes);
}

// etcd's int64 fields come as JSON strings ("42"); absent means 0.
int64_t int_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
  }
  throw BadReply{fmt::format("field \"{}\" is not an integer", name)};
}

std::string string_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const json& object_field(const json& object, const char* name) {
  static const json empty_object = json::object();
  auto it = object.find(name);
  return it != object.end() && it->is_object() ? *it : empty_object;
}

KeyValue parse_kv(const json& j) {
  KeyValue kv;
  kv.key = unbase64(string_field(j, "key"));
  kv.value = unbase64(string_field(j, "value"));
  kv.create_revision = int_field(j, "create_revision");
  kv.mod_revision = int_field(j, "mod_revision");
  kv.lease = int_field(j, "lease");
  return kv;
}

// The end of the key range that holds every key starting with prefix (etcd's
// clientv3.GetPrefixRangeEnd); "\0" (every key from the start on) when no
// such end exists.
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

json range_request(std::string_view prefix) {
  // The empty prefix is etcd's "\0" .. "\0": every key.
  std::string key = prefix.empty() ? std::string(1, '\0') : std::string(prefix);
  return {{"key", b64(key)}, {"range_end", b64(prefix_end(prefix))}};
}

std::string lease_text(int64_t lease) { return std::to_string(lease); }

// The message of an error answer: gRPC-gateway's {"error","message","code"}
// for unary calls, {"error":{"message",...}} inside a stream.
std::string error_message(const json& j) {
  auto it = j.find("error");
  if (it != j.end() && it->is_object()) return string_field(*it, "message");
  std::string m = string_field(j, "message");
  return m.empty() ? string_field(j, "error") : m;
}

}  // namespace

struct EtcdStore::Endpoint {
  explicit Endpoint(net::BaseUrl u) : url(std::move(u)) {}
  net::BaseUrl url;
  util::Mutex mu;
  // Kept-alive connections, each with the client context in force when it
  // was taken (null for http://).
  struct Idle {
    std::unique_ptr<net::HttpsSession> session;
    std::shared_ptr<const tls::Context> context;
  };
  std::vector<Idle> idle GUARDED_BY(mu);

  // A kept connection made with the context in force now, else a new one.
  // Those made with a context a reload has replaced are closed: the next
  // connection presents the new certificate and checks the new trust.
  // `context`: the context in force, for give_back().
  std::unique_ptr<net::HttpsSession> take(const net::ClientContextSource& tls_context,
                                          std::shared_ptr<const tls::Context>& context) {
    context = url.tls && tls_context ? tls_context() : nullptr;
    std::vector<Idle> replaced;  // closed after the lock is released
    {
      util::MutexLock lock(mu);
      while (!idle.empty()) {
        Idle kept = std::move(idle.back());
        idle.pop_back();
        if (kept.context == context) return std::move(kept.session);
        replaced.push_back(std::move(kept));
      }
    }
    return std::make_unique<net::HttpsSession>(url, tls_context);
  }
  void give_back(std::unique_ptr<net::HttpsSession> session,
                 std::shared_ptr<const tls::Context> context) {
    if (!session->connected()) return;
    util::MutexLock lock(mu);
    if (idle.size() < kMaxIdlePerEndpoint) idle.push_back({std::move(session), std::move(context)});
  }
};

struct EtcdStore::Reply {
  json body;
  std::string endpoint;
};

util::Result<std::unique_ptr<EtcdStore>> EtcdStore::create(EtcdStoreOptions options) {
  if (options.endpoints.empty()) {
    return util::fail(
        "cluster.etcd_endpoints is empty; name at least one etcd endpoint, e.g. "
        "https://etcd1:2379");
  }
  std::vector<net::BaseUrl> urls;
  for (const auto& text : options.endpoints) {
    auto url = net::parse_base_url(text);
    if (!url) return util::fail(url.error().prefixed("cluster.etcd_endpoints"));
    if (url->tls && !options.tls_context) {
      return util::fail(fmt::format(
          "cluster.etcd_endpoints: {} uses https but no client TLS context was given; set "
          "cluster.ssl_policy to the policy of the link to etcd",
          url->text));
    }
    urls.push_back(std::move(*url));
  }
  if (options.deadline.count() <= 0 || options.connect_timeout.count() <= 0) {
    return util::fail("the etcd client's deadline and connect timeout must be positive");
  }
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(options), std::move(urls)));
}

EtcdStore::EtcdStore(EtcdStoreOptions options, std::vector<net::BaseUrl> urls)
    : options_(std::move(options)) {
  for (auto& url : urls) endpoints_.push_back(std::make_unique<Endpoint>(std::move(url)));
}

EtcdStore::~EtcdStore() = default;

std::string EtcdStore::preferred_endpoint() const {
  return endpoints_[preferred_.load() % endpoints_.size()]->url.text;
}

util::Result<EtcdStore::Reply> EtcdStore::call(std::string_view path, const std::string& body,
                                               Retry retry) {
  auto deadline = Clock::now() + options_.deadline;
  size_t count = endpoints_.size();
  size_t first = preferred_.load();
  std::vector<std::string> failures;
  for (size_t i = 0; i < count; ++i) {
    size_t index = (first + i) % count;
    Endpoint& ep = *endpoints_[index];
    auto now = Clock::now();
    if (now >= deadline) {
      failures.push_back(ep.url.text + ": not tried, the deadline had passed");
      continue;
    }
    std::shared_ptr<const tls::Context> context;
    auto session = ep.take(options_.tls_context, context);
    if (!session->connected()) {
      auto connected = session->connect(std::min(deadline, now + options_.connect_timeout));
      if (!connected) {
        failures.push_back(connected.error().message());
        continue;
      }
    }
    auto reply = session->post(path, body, deadline, kMaxReplyBody);
    if (!reply && retry == Retry::kUntilSent) {
      // Connected, so the request may have reached etcd and been applied:
      // sent again elsewhere, a transaction would compare false on its own write.
      return util::fail(fmt::format(
          "etcd endpoint {} did not answer POST {}: {}; etcd may or may not have applied it: "
          "read the key before trying again",
          ep.url.text, path, reply.error().message()));
    }
    if (!reply) {
      failures.push_back(reply.error().message());
      continue;
    }
    json parsed = json::parse(reply->body, nullptr, false);
    if (parsed.is_discarded()) {  // a stream of one message: {"result":...}\n
      parsed = json::parse(reply->body.substr(0, reply->body.find('\n')), nullptr, false);
    }
    if (parsed.is_discarded() || !parsed.is_object()) {
      failures.push_back(fmt::format("{}: answered HTTP {} with {}, which is not etcd's JSON",
                                     ep.url.text, reply->status,
                                     net::quoted_peer_text(reply->body)));
      continue;
    }
    ep.give_back(std::move(session), std::move(context));
    if (reply->status >= 200 && reply->status < 300) {
      preferred_.store(index);
      return Reply{std::move(parsed), ep.url.text};
    }
    int code = parsed.contains("code") && parsed["code"].is_number_integer()
                   ? parsed["code"].get<int>()
                   : 0;
    std::string said = net::quoted_peer_text(error_message(parsed));
    // UNAVAILABLE was refused before it was proposed; a timeout may still commit.
    bool unapplied = code == kGrpcUnavailable;
    if (try_elsewhere(reply->status, code) && (retry == Retry::kAlways || unapplied)) {
      failures.push_back(fmt::format("{}: HTTP {}: {}", ep.url.text, reply->status, said));
      continue;
    }
    if (try_elsewhere(reply->status, code)) {
      return util::fail(fmt::format(
          "etcd endpoint {} failed POST {}: HTTP {}, gRPC code {}: {}; etcd may or may not have "
          "applied it: read the key before trying again",
          ep.url.text, path, reply->status, code, said));
    }
    return util::fail(fmt::format("etcd endpoint {} refused POST {}: HTTP {}, gRPC code {}: {}",
                                  ep.url.text, path, reply->status, code, said));
  }
  return util::fail(fmt::format(
      "no etcd endpoint served POST {} within {} ms: {}; check that etcd runs at those addresses "
      "(cluster.etcd_endpoints) and that TLS works both ways (cluster.ssl_policy: etcd's "
      "certificate names the endpoint's host and chains to trusted_dir, and etcd's "
      "--trusted-ca-file holds the CA of our client certificate)",
      path, options_.deadline.count(), util::join(failures, "; ")));
}

namespace {

// Runs parse on a reply; a reply etcd would not send becomes an error that
// names the endpoint.
template <typename T, typename F>
util::Result<T> parse_reply(const std::string& endpoint, std::string_view path, F&& parse) {
  try {
    return parse();
  } catch (const BadReply& e) {
    return util::fail(
        fmt::format("etcd endpoint {} answered POST {} with an unexpected reply ({}); "
                    "check that it is etcd 3.4 or later",
                    endpoint, path, e.what));
  } catch (const json::exception& e) {
    return util::fail(
        fmt::format("etcd endpoint {} answered POST {} with an unexpected reply ({}); "
                    "check that it is etcd 3.4 or later",
                    endpoint, path, e.what()));
  }
}

}  // namespace

util::Result<Snapshot> EtcdStore::range(std::string_view prefix) {
  json request = range_request(prefix);
  request["sort_order"] = "ASCEND";
  request["sort_target"] = "KEY";
  auto reply = call("/v3/kv/range", request.dump());
  if (!reply) return util::fail(reply.error());
  return parse_reply<Snapshot>(reply->endpoint, "/v3/kv/range", [&] {
    Snapshot snapshot;
    snapshot.revision = int_field(object_field(reply->body, "header"), "revision");
    auto it = reply->body.find("kvs");
    if (it != reply->body.end() && it->is_array()) {
      for (const auto& kv : *it) snapshot.kvs.push_back(parse_kv(kv));
    }
    return snapshot;
  });
}

util::Result<int64_t> EtcdStore::put(std::string_view key, std::string_view value, int64_t lease) {
  json request = {{"key", b64(key)}, {"value", b64(value)}};
  if (lease != 0) request["lease"] = lease_text(lease);
  auto reply = call("/v3/kv/put", request.dump());
  if (!reply) return util::fail(reply.error());
  return parse_reply<int64_t>(reply->endpoint, "/v3/kv/put", [&] {
    return int_field(object_field(reply->body, "header"), "revision");
  });
}

util::Result<bool> EtcdStore::put_if(std::string_view key, std::string_view value,
                                     int64_t expected_mod_revision) {
  return put_both_if(key, value, expected_mod_revision, {}, {});
}

util::Result<bool> EtcdStore::put_both_if(std::string_view key, std::string_view value,
                                          int64_t expected_mod_revision, std::string_view also_key,
                                          std::string_view also_value) {
  // A key that does not exist has mod_revision 0, so one comparison covers both cases.
  json compare = {{"key", b64(key)},
                  {"target", "MOD"},
                  {"result", "EQUAL"},
                  {"mod_revision", std::to_string(expected_mod_revision)}};
  json puts = json::array({{{"request_put", {{"key", b64(key)}, {"value", b64(value)}}}}});
  if (!also_key.empty()) {
    puts.push_back({{"request_put", {{"key", b64(also_key)}, {"value", b64(also_value)}}}});
  }
  json request = {{"compare", json::array({compare})}, {"success", std::move(puts)}};
  auto reply = call("/v3/kv/txn", request.dump(), Retry::kUntilSent);
  if (!reply) return util::fail(reply.error());
  return parse_reply<bool>(reply->endpoint, "/v3/kv/txn", [&] {
    auto it = reply->body.find("succeeded");
    return it != reply->body.end() && it->is_boolean() && it->get<bool>();
  });
}

util::Result<int64_t> EtcdStore::transact(const std::vector<Condition>& when,
                                          const std::vector<Write>& then) {
  json compares = json::array();
  for (const auto& c : when) {
    compares.push_back({{"key", b64(c.key)},
                        {"target", "MOD"},
                        {"result", "EQUAL"},
                        {"mod_revision", std::to_string(c.mod_revision)}});
  }
  json ops = json::array();
  for (const auto& w : then) {
    if (w.remove) {
      ops.push_back({{"request_delete_range", {{"key", b64(w.key)}}}});
      continue;
    }
    json put = {{"key", b64(w.key)}, {"value", b64(w.value)}};
    if (w.lease != 0) put["lease"] = lease_text(w.lease);
    ops.push_back({{"request_put", std::move(put)}});
  }
  json request = {{"compare", std::move(compares)}, {"success", std::move(ops)}};
  auto reply = call("/v3/kv/txn", request.dump(), Retry::kUntilSent);
  if (!reply) return util::fail(reply.error());
  return parse_reply<int64_t>(reply->endpoint, "/v3/kv/txn", [&]() -> int64_t {
    auto it = reply->body.find("succeeded");
    if (it == reply->body.end() || !it->is_boolean() || !it->get<bool>()) return 0;
    return int_field(object_field(reply->body, "header"), "revision");
  });
}

util::Status EtcdStore::remove(std::string_view key) {
  json request = {{"key", b64(key)}};
  auto reply = call("/v3/kv/deleterange", request.dump());
  if (!reply) return util::fail(reply.error());
  return {};
}

util::Result<int64_t> EtcdStore::grant_lease(std::chrono::seconds ttl) {
  json request = {{"TTL", std::to_string(ttl.count())}};
  auto reply = call("/v3/lease/grant", request.dump());
  if (!reply) return util::fail(reply.error());
  auto id = parse_reply<int64_t>(reply->endpoint, "/v3/lease/grant",
                                 [&] { return int_field(reply->body, "ID"); });
  if (!id) return id;
  if (*id == 0) {
    return util::fail(fmt::format("etcd endpoint {} granted no lease of {} s: {}; check etcd's log",
                                  reply->endpoint, ttl.count(),
                                  net::quoted_peer_text(string_field(reply->body, "error"))));
  }
  return id;
}

util::Status EtcdStore::keep_alive(int64_t lease) {
  json request = {{"ID", lease_text(lease)}};
  auto reply = call("/v3/lease/keepalive", request.dump());
  if (!reply) return util::fail(reply.error());
  const json& body = reply->body;
  if (body.contains("error")) {
    return util::fail(
        fmt::format("etcd endpoint {} did not renew lease {}: {}; grant a new lease "
                    "and put its keys again",
                    reply->endpoint, lease, net::quoted_peer_text(error_message(body))));
  }
  auto ttl = parse_reply<int64_t>(reply->endpoint, "/v3/lease/keepalive",
                                  [&] { return int_field(object_field(body, "result"), "TTL"); });
  if (!ttl) return util::fail(ttl.error());
  if (*ttl <= 0) {
    return util::fail(
        fmt::format("lease {} has expired (etcd endpoint {} no longer knows it); "
                    "grant a new lease and put its keys again",
                    lease, reply->endpoint));
  }
  return {};
}

util::Status EtcdStore::watch(std::string_view prefix, int64_t start_revision,
                              const std::function<void(const WatchEvent&)>& on_event,
                              std::stop_token stop) {
  json create = range_request(prefix);
  create["start_revision"] = std::to_string(start_revision);
  const std::string body = json{{"create_request", create}}.dump();
  size_t count = endpoints_.size();
  size_t first = preferred_.load();
  std::vector<std::string> failures;
  for (size_t i = 0; i < count; ++i) {
    if (stop.stop_requested()) return {};
    size_t index = (first + i) % count;
    const net::BaseUrl& url = endpoints_[index]->url;
    net::HttpsSession session(url, options_.tls_context);
    bool created = false;
    std::optional<util::Error> verdict;  // etcd ended the watch: no other endpoint is asked
    std::string lines;
    auto on_message = [&](std::string_view line) -> util::Status {
      if (util::trim(line).empty()) return {};
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        throw BadReply{"a watch message is not JSON: " + net::quoted_peer_text(line)};
      }
      if (j.contains("error")) {
        verdict = util::Error(fmt::format(
            "etcd endpoint {} ended the watch of {}: {}; read a new snapshot and watch again",
            url.text, net::quoted_peer_text(prefix), net::quoted_peer_text(error_message(j))));
        return util::fail(*verdict);
      }
      const json& result = object_field(j, "result");
      auto canceled = result.find("canceled");
      if (canceled != result.end() && canceled->is_boolean() && canceled->get<bool>()) {
        int64_t compacted = int_field(result, "compact_revision");
        if (compacted > 0) {
          verdict = util::Error(fmt::format(
              "etcd endpoint {} canceled the watch of {}: revision {} is compacted (etcd keeps "
              "revisions from {} on); read a new snapshot and watch from its revision + 1",
              url.text, net::quoted_peer_text(prefix), start_revision, compacted));
        } else {
          verdict = util::Error(fmt::format(
              "etcd endpoint {} canceled the watch of {}: {}; read a new snapshot and watch again",
              url.text, net::quoted_peer_text(prefix),
              net::quoted_peer_text(string_field(result, "cancel_reason"))));
        }
        return util::fail(*verdict);
      }
      if (result.contains("created")) created = true;
      auto events = result.find("events");
      if (events == result.end() || !events->is_array()) return {};
      for (const auto& e : *events) {
        if (stop.stop_requested()) return {};  // returns at the next wait
        WatchEvent event;
        event.type = string_field(e, "type") == "DELETE" ? WatchEvent::Type::kDelete
                                                         : WatchEvent::Type::kPut;
        event.kv = parse_kv(object_field(e, "kv"));
        on_event(event);
      }
      return {};
    };
    auto on_data = [&](std::string_view data) -> util::Status {
      lines.append(data);
      size_t start = 0;
      for (size_t nl; (nl = lines.find('\n', start)) != std::string::npos; start = nl + 1) {
        auto s = on_message(std::string_view(lines).substr(start, nl - start));
        if (!s) return s;
      }
      lines.erase(0, start);
      if (lines.size() > kMaxWatchMessage) {
        throw BadReply{fmt::format("a watch message is longer than {} bytes", kMaxWatchMessage)};
      }
      return {};
    };
    util::Status streamed;
    try {
      streamed = session.stream("/v3/watch", body, Clock::now() + options_.deadline, on_data, stop);
    } catch (const BadReply& e) {
      return util::fail(fmt::format(
          "etcd endpoint {} broke the watch of {} with an unexpected reply ({}); check that it "
          "is etcd 3.4 or later",
          url.text, net::quoted_peer_text(prefix), e.what));
    } catch (const json::exception& e) {
      return util::fail(fmt::format(
          "etcd endpoint {} broke the watch of {} with an unexpected reply ({}); check that it "
          "is etcd 3.4 or later",
          url.text, net::quoted_peer_text(prefix), e.what()));
    }
    if (stop.stop_requested()) return {};
    if (verdict) return util::fail(*verdict);
    if (streamed) {
      return util::fail(fmt::format(
          "etcd endpoint {} ended the watch stream of {}; read a new snapshot and watch again",
          url.text, net::quoted_peer_text(prefix)));
    }
    if (created) {
      preferred_.store(index);
      return util::fail(fmt::format(
          "the watch of {} broke: {}; read a new snapshot and watch again from its revision + 1 "
          "(the endpoints are tried in turn)",
          net::quoted_peer_text(prefix), streamed.error().message()));
    }
    failures.push_back(streamed.error().message());
  }
  return util::fail(fmt::format(
      "no etcd endpoint took the watch of {}: {}; check that etcd runs at those addresses "
      "(cluster.etcd_endpoints) and that TLS works both ways (cluster.ssl_policy)",
      net::quoted_peer_text(prefix), util::join(failures, "; ")));
}

}  // namespace tlsgate::cluster
