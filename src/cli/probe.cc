// `tlsgate probe HOST:PORT [--starttls postgres|mysql|nats] [--servername N]
//  [--ca FILE] [--cert C --key K] [--enumerate] [--json] [--timeout S]`
//
// Argument parsing only; the engine is net/probe.h and
// net/probe_enumerate.h, the grading tls/probe_grade.h, the rendering
// cli/probe_report.h. The JSON schema
// ("tlsgate.probe/1") is documented in docs/PROBE.md; a field is never
// renamed or removed within a schema version.
#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/key_password_advice.h"
#include "cli/probe_report.h"
#include "config/value_parsers.h"
#include "net/probe.h"
#include "net/probe_enumerate.h"
#include "net/probe_plaintext.h"
#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "pki/private_key_loader.h"
#include "tls/probe_grade.h"
#include "util/clock.h"

namespace tlsgate::cli {
namespace {

struct ProbeOptions {
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

int run_probe(const ProbeOptions& o) {
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
      return report_error(
          f + (std::filesystem::exists(f, ec) ? ": not a regular file" : ": no such file"), kUsage);
    }
  }
  // Our own files are read here, so that a wrong one is bad usage (exit 2)
  // naming the option, not a handshake that "failed" (exit 1).
  if (!o.ca.empty()) {
    if (auto ca = pki::load_certificates(o.ca); !ca) {
      return report_error("--ca: " + ca.error().message(), kUsage);
    }
  }
  if (!o.cert.empty()) {
    auto cert = pki::load_certificates(o.cert);
    if (!cert) return report_error("--cert: " + cert.error().message(), kUsage);
    auto key = pki::load_private_key(o.key, std::nullopt, cannot_read_encrypted());
    if (!key) return report_error("--key: " + key.error().message(), kUsage);
    if (auto st = pki::check_key_matches(cert->front().get(), key->get(), o.cert, o.key); !st) {
      return report_error(st.error().message(), kUsage);
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
  // A plaintext port has no TLS to enumerate: 40 connections would say nothing more.
  if (o.enumerate && (!report.failure || report.handshake_done ||
                      (report.failure->step == net::ProbeStep::kHandshake &&
                       report.failure->reason != net::kPlaintextPeerReason))) {
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
    std::printf("%s\n", probe_json(report, chain, ep, findings).dump(2).c_str());
  } else {
    std::printf("%s", probe_text(report, chain, ep, findings).c_str());
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
  auto o = std::make_shared<ProbeOptions>();
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
