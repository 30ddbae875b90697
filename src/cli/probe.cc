// `tlsgate probe HOST:PORT [--starttls postgres|mysql|nats] [--servername N]
//  [--ca FILE] [--cert C --key K] [--enumerate] [--json] [--timeout S]`
//
// Argument parsing and rendering only; the engine is net/probe.h and
// net/probe_enumerate.h, the grading tls/probe_grade.h. The JSON schema
// ("tlsgate.probe/1") is documented in docs/PROBE.md; a field is never
// renamed or removed within a schema version.
#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "config/value_parsers.h"
#include "net/probe.h"
#include "net/probe_enumerate.h"
#include "pki/certificate_info.h"
#include "tls/probe_grade.h"
#include "util/clock.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

using nlohmann::json;

struct Options {
  std::string target;
  std::string starttls;
  std::string server_name;
  std::string ca;
  std::string cert;
  std::string key;
  bool enumerate = false;
  bool json = false;
  double timeout = 10;
};

std::vector<pki::CertificateInfo> describe_chain(const net::ProbeReport& r) {
  std::vector<pki::CertificateInfo> out;
  for (const auto& c : r.chain)
    out.push_back(pki::describe(c.get(), util::SystemClock::instance()));
  return out;
}

tls::GradeInput grade_input(const net::Enumeration& e,
                            const std::vector<pki::CertificateInfo>& chain) {
  tls::GradeInput in;
  for (const auto& v : e.versions) {
    if (!v.accepted) continue;
    in.versions.push_back(v.name);
    if (v.name == "TLSv1.3") continue;
    for (const auto& s : v.suites) {
      if (std::find(in.tls12_suites.begin(), in.tls12_suites.end(), s.name) ==
          in.tls12_suites.end()) {
        in.tls12_suites.push_back(s.name);
      }
    }
  }
  in.groups_known = !e.groups.empty();
  for (const auto& g : e.groups) {
    if (g.accepted) in.groups.push_back(g.name);
  }
  if (!chain.empty()) {
    in.leaf_known = true;
    in.leaf_key_type = chain.front().key_type;
    in.leaf_key_curve = chain.front().key_curve;
    in.leaf_key_bits = chain.front().key_bits;
    in.leaf_days_left = chain.front().days_left;
  }
  for (const auto& c : chain) {
    if (!c.self_signed) in.signature_algorithms.push_back(c.signature_algorithm);
  }
  return in;
}

json facts_json(const std::vector<net::Fact>& facts) {
  json j = json::object();
  for (const auto& f : facts) j[f.key] = f.value;
  return j;
}

json to_json(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
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
    groups.push_back({{"name", g.name}, {"accepted", g.accepted}, {"method", g.method}});
  }
  json found = json::array();
  for (const auto& f : findings) {
    found.push_back({{"severity", f.severity}, {"what", f.what}, {"fix", f.fix}});
  }
  j["enumeration"] = {{"versions", versions},
                      {"groups", groups},
                      {"profile", "mozilla-intermediate"},
                      {"findings", found},
                      {"connections", e->connections},
                      {"error", e->error.empty() ? json(nullptr) : json(e->error)}};
  return j;
}

void line(std::string& out, std::string_view label, const std::string& value) {
  out += fmt::format("{:<20}{}\n", label, value);
}

std::string to_text(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
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
      if (!r.ocsp.cert_status.empty()) {
        ocsp += ", certificate " + r.ocsp.cert_status +
                (r.ocsp.revocation_reason.empty() ? "" : " (" + r.ocsp.revocation_reason + ")") +
                ", thisUpdate " + r.ocsp.this_update +
                (r.ocsp.next_update.empty() ? "" : ", nextUpdate " + r.ocsp.next_update);
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
        out +=
            fmt::format("  {:<9} refused{}\n", v.name, v.error.empty() ? "" : " (" + v.error + ")");
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
    out += fmt::format("  graded against Mozilla intermediate: {}\n",
                       findings.empty() ? "no findings"
                                        : std::to_string(findings.size()) + " finding" +
                                              (findings.size() == 1 ? "" : "s"));
    for (const auto& f : findings) {
      out += fmt::format("    {}: {}; {}\n", f.severity == "fail" ? "FAIL" : "warn", f.what, f.fix);
    }
  }
  return out;
}

int run_probe(const Options& o) {
  // OpenSSL writes to the socket with write(2): a server that hangs up
  // mid-handshake must give an error to report, not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto target = config::parse_address(o.target);
  if (!target || target->host.empty() || target->port == 0) {
    return report_error(o.target + ": not HOST:PORT (e.g. db.example.com:5432 or [::1]:5432)",
                        kUsage);
  }
  net::ProbeOptions p;
  p.target = *target;
  if (o.starttls == "postgres") {
    p.starttls = net::StartTlsProtocol::kPostgres;
  } else if (o.starttls == "mysql") {
    p.starttls = net::StartTlsProtocol::kMysql;
  } else if (o.starttls == "nats") {
    p.starttls = net::StartTlsProtocol::kNats;
  } else if (!o.starttls.empty()) {
    return report_error("--starttls " + o.starttls + ": use postgres, mysql or nats", kUsage);
  }
  if (o.cert.empty() != o.key.empty()) {
    return report_error("--cert and --key go together: pass both, or neither", kUsage);
  }
  for (const auto& f : {o.ca, o.cert, o.key}) {
    std::error_code ec;
    if (!f.empty() && !std::filesystem::is_regular_file(f, ec)) {
      return report_error(f + ": no such file", kUsage);
    }
  }
  if (!(o.timeout > 0) || o.timeout > 3600) {
    return report_error("--timeout: give seconds above 0 (fractions allowed), at most 3600",
                        kUsage);
  }
  p.server_name = o.server_name;
  p.ca_file = o.ca;
  p.cert_file = o.cert;
  p.key_file = o.key;
  p.timeout = std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));

  net::ProbeReport report = net::run_probe(p);
  auto chain = describe_chain(report);
  std::optional<net::Enumeration> e;
  std::vector<tls::Finding> findings;
  if (o.enumerate && (!report.failure || report.handshake_done ||
                      report.failure->step == net::ProbeStep::kHandshake)) {
    bool bar = ::isatty(STDERR_FILENO) == 1;
    e = net::enumerate(p, [bar](int done, int total) {
      if (!bar) return;
      int width = 30;
      int filled = total > 0 ? std::min(width, done * width / total) : 0;
      std::fprintf(stderr, "\r[%s%s] %d/%d", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), done, total);
      std::fflush(stderr);
    });
    if (bar) std::fprintf(stderr, "\r%*s\r", 60, "");
    findings = tls::grade_intermediate(grade_input(*e, chain));
  }
  const net::Enumeration* ep = e ? &*e : nullptr;
  if (o.json) {
    std::printf("%s\n", to_json(report, chain, ep, findings).dump(2).c_str());
  } else {
    std::printf("%s", to_text(report, chain, ep, findings).c_str());
  }
  if (report.failure) {
    return report_error("probe of " + report.target + " failed at " +
                            std::string(net::step_name(report.failure->step)) + " [" +
                            report.failure->reason + "]: " + report.failure->message,
                        kFailed);
  }
  return kOk;
}

}  // namespace

void add_probe(CLI::App& app, Outcome& out) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "probe",
      "Connect to a TLS server (after PostgreSQL, MySQL or NATS STARTTLS) and report what it "
      "offers, its chain and whether it verifies");
  cmd->add_option("target", o->target, "HOST:PORT of the server")->required();
  cmd->add_option("--starttls", o->starttls,
                  "Speak this protocol before TLS: postgres, mysql, nats");
  cmd->add_option("--servername", o->server_name,
                  "Name to send as SNI and to check the certificate against (default: HOST)");
  cmd->add_option("--ca", o->ca, "Trust these CA certificates (PEM) instead of the system store");
  cmd->add_option("--cert", o->cert, "Client certificate (PEM, chain after the leaf)");
  cmd->add_option("--key", o->key, "Private key of --cert (PEM)");
  cmd->add_flag("--enumerate", o->enumerate,
                "Also list every accepted version, cipher suite and group, graded against "
                "Mozilla's intermediate profile");
  cmd->add_flag("--json", o->json, "Print the report as JSON (schema in docs/PROBE.md)");
  cmd->add_option("--timeout", o->timeout, "Seconds per connection (default 10)");
  cmd->footer(
      "Exit codes: 0 the server's chain verified and names the host, 1 it did not or a "
      "step failed (which one is said), 2 bad usage.");
  cmd->callback([o, &out] { out.code = run_probe(*o); });
}

}  // namespace tlsgate::cli
