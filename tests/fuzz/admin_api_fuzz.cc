// The admin API's request handling (admin/api.h) on a gate of its own: any
// method, target, role and body, on both listeners; and parse_upload() on
// the body as PUT /v1/policies/SCOPE/certificate reads it. Every request
// gets exactly one answer, with a status the API documents, and every JSON
// answer parses; an error answer says "error" and "fix".
//
// Input: an option byte (bits 0-2 method, 3-4 role, 5 listener), then the
// target up to the first NUL, then the body.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pki/base64.h"
#include "admin/api.h"
#include "admin/certificate_upload.h"
#include "fuzz_check.h"

namespace {

using namespace tlsgate;

class Backend final : public admin::Backend {
 public:
  net::GateStatus status() const override {
    net::GateStatus s;
    net::ConnectorStatus c;
    c.name = "pg";
    c.handshake_failures["unknown_ca"] = 1;
    s.connectors.push_back(c);
    net::PolicyStatus p;
    p.scope = "pg";  // no context: PUT answers 404 before touching files
    s.policies.push_back(p);
    return s;
  }
  void connections(std::string, size_t limit,
                   std::function<void(std::vector<net::ConnectionInfo>)> done) override {
    FUZZ_CHECK(limit >= 1 && limit <= 10000);
    done({});
  }
  void close_connection(uint64_t id, std::string, std::function<void(bool)> done) override {
    done(id % 2 == 0);
  }
  void reload(std::function<void(net::ReloadOutcome)> done) override { done({}); }
  void reload_policy(std::string, std::function<void(net::ReloadOutcome)> done) override {
    done({});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kMethods[] = {"GET",  "PUT",   "POST",    "DELETE",
                                   "HEAD", "PATCH", "OPTIONS", "get"};
  const uint8_t opt = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto nul = rest.find('\0');
  admin::ApiRequest req;
  req.method = kMethods[opt & 7];
  req.target = std::string(rest.substr(0, nul));
  req.body = nul == std::string_view::npos ? "" : std::string(rest.substr(nul + 1));
  static const admin::Role kRoles[] = {admin::Role::kNone, admin::Role::kReadOnly,
                                       admin::Role::kReadWrite, admin::Role::kReadWrite};
  req.role = kRoles[(opt >> 3) & 3];
  req.identity = "fuzz";
  req.peer = "127.0.0.1:1";
  auto listener = (opt & 0x20) ? admin::Listener::kMetrics : admin::Listener::kAdmin;

  Backend backend;
  admin::Api api(backend, {});
  int answers = 0;
  api.handle(req, listener, [&](admin::ApiResponse r) {
    ++answers;
    static const std::set<unsigned> kStatuses = {200, 204, 400, 403, 404, 405, 413, 500};
    FUZZ_CHECK(kStatuses.count(r.status) == 1);
    if (r.content_type == "application/json") {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      FUZZ_CHECK(!j.is_discarded());
      if (r.status >= 400) FUZZ_CHECK(j.contains("error") && j.contains("fix"));
    }
  });
  FUZZ_CHECK(answers == 1);

  auto upload = admin::parse_upload(req.body);
  if (!upload) FUZZ_CHECK(!upload.error().message().empty());
  (void)pki::decode_base64(req.body);
  return 0;
}
