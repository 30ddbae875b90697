#include "cli/probe_report.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/cert_support.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

using nlohmann::json;

json facts_json(const std::vector<net::Fact>& facts) {
  json j = json::object();
  for (const auto& f : facts) j[f.key] = f.value;
  return j;
}

}  // namespace

json probe_json(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
                const net::Enumeration* e, const std::vector<tls::Finding>& findings) {
  json j;
  j["schema"] = "tlsgate.probe/1";
  j["target"] = r.target;
  j["address"] = r.address.empty() ? json(nullptr) : json(r.address);
  j["server_name"] = r.server_name;
  j["sni_sent"] = r.sni_sent;
  j["starttls"] =
      r.starttls == net::StartTlsProtocol::kNone
          ? json(nullptr)
          : json{{"protocol", net::protocol_name(r.starttls)}, {"facts", facts_json(r.pre_tls)}};
  j["verified"] = r.verified;
  j["failure"] = r.failure ? json{{"step", net::step_name(r.failure->step)},
                                  {"reason", r.failure->reason},
                                  {"message", r.failure->message}}
                           : json(nullptr);
  j["tls"] = r.handshake_done ? json{{"version", r.version},
                                     {"cipher", r.cipher},
                                     {"cipher_openssl", r.cipher_openssl},
                                     {"group", r.group.empty() ? json(nullptr) : json(r.group)},
                                     {"alpn", r.alpn.empty() ? json(nullptr) : json(r.alpn)}}
                              : json(nullptr);
  j["client_certificate"] = {{"requested", r.client_cert_requested},
                             {"ca_names", r.client_ca_names},
                             {"sent", r.client_cert_sent}};
  json certs = json::array();
  for (const auto& c : chain) certs.push_back(cli::to_json(c));
  j["chain"] = certs;
  j["verification"] = {{"verified", r.verified},
                       {"trust", r.trust},
                       {"name", r.server_name},
                       {"reason", r.verified ? json(nullptr) : json(r.verify_reason)},
                       {"message", r.verified ? json(nullptr) : json(r.verify_message)}};
  if (!r.handshake_done) j["verification"] = nullptr;
  j["ocsp"] = {{"stapled", r.ocsp.stapled}};
  if (r.ocsp.stapled) {
    j["ocsp"]["response_status"] = r.ocsp.response_status;
    j["ocsp"]["cert_status"] = r.ocsp.cert_status;
    j["ocsp"]["revocation_reason"] = r.ocsp.revocation_reason;
    j["ocsp"]["this_update"] = r.ocsp.this_update;
    j["ocsp"]["next_update"] = r.ocsp.next_update;
    j["ocsp"]["verified"] = r.ocsp.verified;
    j["ocsp"]["problem"] = r.ocsp.problem.empty() ? json(nullptr) : json(r.ocsp.problem);
  }
  j["resumption"] = {
      {"attempted", r.resumption.attempted},
      {"resumed", r.resumption.resumed},
      {"method", r.resumption.method.empty() ? json(nullptr) : json(r.resumption.method)},
      {"detail", r.resumption.detail}};
  if (e == nullptr) {
    j["enumeration"] = nullptr;
    return j;
  }
  json versions = json::array();
  for (const auto& v : e->versions) {
    json suites = json::array();
    for (const auto& s : v.suites) {
      suites.push_back({{"name", s.name},
                        {"openssl_name", s.openssl_name},
                        {"code", fmt::format("0x{:04X}", s.code)},
                        {"method", s.method}});
    }
    versions.push_back({{"version", v.name},
                        {"accepted", v.accepted},
                        {"method", v.method},
                        {"server_order", v.server_order ? json(*v.server_order) : json(nullptr)},
                        {"suites", suites},
                        {"error", v.error.empty() ? json(nullptr) : json(v.error)}});
  }
  json groups = json::array();
  for (const auto& g : e->groups) {
    groups.push_back({{"name", g.name},
                      {"accepted", g.accepted},
                      {"method", g.method},
                      {"known", g.known},
                      {"note", g.note.empty() ? json(nullptr) : json(g.note)}});
  }
  json found = json::array();
  for (const auto& f : findings) {
    found.push_back({{"severity", f.severity}, {"what", f.what}, {"fix", f.fix}});
  }
  j["enumeration"] = {{"versions", versions},
                      {"groups", groups},
                      {"profile", "mozilla-intermediate"},
                      {"findings", found},
                      {"complete", e->complete()},
                      {"connections", e->connections},
                      {"error", e->error.empty() ? json(nullptr) : json(e->error)}};
  return j;
}

namespace {

void line(std::string& out, std::string_view label, const std::string& value) {
  out += fmt::format("{:<20}{}\n", label, value);
}

}  // namespace

std::string probe_text(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
                       const net::Enumeration* e, const std::vector<tls::Finding>& findings) {
  std::string out;
  line(out, "target:", r.target + (r.address.empty() ? "" : " (" + r.address + ")"));
  line(out, "name checked:", r.server_name + (r.sni_sent ? " (sent as SNI)" : " (no SNI: an IP)"));
  if (r.starttls != net::StartTlsProtocol::kNone) {
    std::vector<std::string> facts;
    for (const auto& f : r.pre_tls) facts.push_back(f.key + "=" + f.value);
    line(out, "before TLS:",
         std::string(net::protocol_name(r.starttls)) + ": " +
             (facts.empty() ? "(nothing)" : util::join(facts, ", ")));
  }
  if (r.handshake_done) {
    line(out, "TLS:",
         r.version + ", " + r.cipher +
             (r.cipher_openssl != r.cipher ? " (" + r.cipher_openssl + ")" : ""));
    line(out, "key exchange:", r.group.empty() ? "(unknown)" : r.group);
    line(out, "ALPN:", r.alpn.empty() ? "(none)" : r.alpn);
  }
  if (r.handshake_done || r.client_cert_requested) {
    std::string cc = r.client_cert_requested ? "requested" : "not requested";
    if (r.client_cert_requested) cc += r.client_cert_sent ? ", one sent" : ", none sent";
    line(out, "client certificate:", cc);
    for (const auto& n : r.client_ca_names) line(out, "  accepted CA:", n);
  }
  if (!chain.empty()) {
    out += fmt::format("chain as served ({} certificate{}):\n", chain.size(),
                       chain.size() == 1 ? "" : "s");
    for (size_t i = 0; i < chain.size(); ++i) {
      out += fmt::format(" [{}]\n", i);
      out += cli::to_text(chain[i]);
    }
  }
  if (r.handshake_done) {
    line(out, "verification:",
         r.verified ? "OK: the chain verifies against " + r.trust + " and names " + r.server_name
                    : "FAILED [" + r.verify_reason + "]: " + r.verify_message);
    std::string ocsp = "not stapled";
    if (r.ocsp.stapled) {
      ocsp = "stapled, response " + r.ocsp.response_status;
      std::string claims;
      if (!r.ocsp.cert_status.empty()) {
        claims = "certificate " + r.ocsp.cert_status +
                 (r.ocsp.revocation_reason.empty() ? "" : " (" + r.ocsp.revocation_reason + ")") +
                 ", thisUpdate " + r.ocsp.this_update +
                 (r.ocsp.next_update.empty() ? "" : ", nextUpdate " + r.ocsp.next_update);
      }
      if (r.ocsp.verified) {
        ocsp += ", verified: " + claims;
      } else {
        ocsp += ", NOT VERIFIED (" + r.ocsp.problem + ")" +
                (claims.empty() ? "" : "; it claims " + claims);
      }
    }
    line(out, "OCSP:", ocsp);
    line(out, "resumption:",
         r.resumption.resumed ? "works (" + r.resumption.method + ")"
                              : "no: " + r.resumption.detail);
  }
  if (e != nullptr) {
    out += "enumeration:\n";
    if (!e->error.empty()) out += "  " + e->error + "\n";
    for (const auto& v : e->versions) {
      if (!v.accepted) {
        out += fmt::format("  {:<9} {}\n", v.name,
                           v.error.empty() ? "refused" : "not known: " + v.error);
        continue;
      }
      std::string order = !v.server_order   ? ""
                          : *v.server_order ? ", server's order"
                                            : ", client's order (the server has no preference)";
      out += fmt::format("  {:<9} accepted ({}){}\n", v.name, v.method, order);
      for (const auto& s : v.suites) {
        out += s.method == "openssl" ? fmt::format("    {}\n", s.name)
                                     : fmt::format("    {:<48} [{}]\n", s.name, s.method);
      }
    }
    std::vector<std::string> groups;
    for (const auto& g : e->groups) {
      if (g.accepted) groups.push_back(g.name);
    }
    line(out, "  groups:", groups.empty() ? "(none found)" : util::join(groups, ", "));
    // Groups not known, one line per reason (usually one reason for all).
    std::vector<std::pair<std::string, std::vector<std::string>>> unknown;
    for (const auto& g : e->groups) {
      if (g.known) continue;
      auto it = std::find_if(unknown.begin(), unknown.end(),
                             [&g](const auto& u) { return u.first == g.note; });
      if (it == unknown.end()) it = unknown.insert(unknown.end(), {g.note, {}});
      it->second.push_back(g.name);
    }
    for (const auto& [note, names] : unknown) {
      out += fmt::format("    {}: {}\n", util::join(names, ", "), note);
    }
    std::string counted = findings.empty() ? "no findings"
                                           : std::to_string(findings.size()) + " finding" +
                                                 (findings.size() == 1 ? "" : "s");
    out += fmt::format("  graded against Mozilla intermediate: {}\n",
                       e->complete() ? counted
                                     : counted +
                                           ", but incomplete: a version above was not "
                                           "answered, so this is no verdict");
    for (const auto& f : findings) {
      out += fmt::format("    {}: {}; {}\n", f.severity == "fail" ? "FAIL" : "warn", f.what, f.fix);
    }
  }
  return out;
}

}  // namespace tlsgate::cli
