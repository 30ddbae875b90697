// The PolicyAuditor checks that read no key material: CRLs, names,
// algorithm names, pins and identities.
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "pki/pin.h"
#include "tls/openssl_names.h"
#include "tls/policy_auditor.h"
#include "tls/server_name.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

bool covers(const X509* cert, const std::string& host) {
  auto* c = const_cast<X509*>(cert);  // OpenSSL 3.0 takes non-const here but does not modify
  if (is_ip_literal(host)) return X509_check_ip_asc(c, host.c_str(), 0) == 1;
  return X509_check_host(c, host.data(), host.size(), 0, nullptr) == 1;
}

// "https://node1.example.com:7000/x" -> "node1.example.com"; wildcards kept.
std::string peer_host(std::string peer) {
  if (auto scheme = peer.find("://"); scheme != std::string::npos) peer = peer.substr(scheme + 3);
  if (auto slash = peer.find('/'); slash != std::string::npos) peer.resize(slash);
  if (!peer.empty() && peer.front() == '[') return peer.substr(1, peer.find(']') - 1);
  if (auto colon = peer.rfind(':'); colon != std::string::npos && peer.find(':') == colon) {
    peer.resize(colon);
  }
  return peer;
}

std::string names_of(const pki::CertificateInfo& info) {
  std::vector<std::string> names;
  for (const auto& n : info.san_dns) names.push_back("DNS:" + n);
  for (const auto& n : info.san_ip) names.push_back("IP:" + n);
  return names.empty() ? "none" : util::join(names, ", ");
}

}  // namespace

void PolicyAuditor::check_revoked() {
  const auto& dir = policy_.revoked_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (use_.incoming || was_set("revoked_dir")) {
      error("revoked_dir", "folder " + dir.string() + " does not exist",
            "create it (mkdir -m 755 " + dir.string() + "), even if it stays empty");
    }
    return;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec) || entry.path().filename().string().front() == '.') continue;
    auto crls = pki::load_crls(entry.path());
    if (!crls) {
      error("revoked_dir", crls.error().message(), "");
      continue;
    }
    for (const auto& crl : *crls) {
      pki::OpensslString issuer_text(X509_NAME_oneline(X509_CRL_get_issuer(crl.get()), nullptr, 0));
      std::string issuer = issuer_text ? issuer_text.get() : "?";
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      time_t now = std::chrono::system_clock::to_time_t(clock_.now());
      if (next != nullptr && X509_cmp_time(next, &now) < 0) {
        error("revoked_dir",
              fmt::format("CRL {} from {} is stale: its nextUpdate has passed; peers it should "
                          "block may be let in, and STRICT checks fail",
                          entry.path().string(), issuer),
              "fetch a fresh CRL from the CA and replace the file");
      }
      const X509* signer = nullptr;
      for (const auto& ca : trusted_) {
        if (X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl.get())) == 0) {
          signer = ca.get();
        }
      }
      if (trusted_loaded_ && signer == nullptr) {
        warning("revoked_dir",
                fmt::format("CRL {} is from {}, which is not in {}; it cannot be checked",
                            entry.path().string(), issuer, policy_.trusted_dir.string()),
                "add that CA to the trusted folder, or remove the CRL");
      } else if (signer != nullptr && X509_CRL_verify(crl.get(), X509_get0_pubkey(signer)) != 1) {
        error("revoked_dir",
              fmt::format("CRL {} does not carry a valid signature of {}", entry.path().string(),
                          issuer),
              "fetch the CRL again from the CA");
      }
      X509_REVOKED* revoked = nullptr;
      if (!certs_.empty() &&
          X509_CRL_get0_by_cert(crl.get(), &revoked, certs_.front().get()) == 1) {
        error(
            "public_certificate",
            fmt::format("certificate {} is revoked by {}",
                        pki::describe(certs_.front().get(), clock_).subject, entry.path().string()),
            "issue a new certificate and replace " + policy_.public_certificate.string());
      }
    }
  }
}

void PolicyAuditor::check_names() {
  if (certs_.empty()) return;
  const X509* leaf = certs_.front().get();
  auto info = pki::describe(leaf, clock_);
  for (const auto& [listen_key, host] : use_.listen_hosts) {
    if (covers(leaf, host)) continue;
    error("public_certificate",
          fmt::format("certificate {} does not name {}, the host of {} (it names {})", info.subject,
                      host, listen_key, names_of(info)),
          fmt::format("reissue it with that name too (tlsgate cert issue ... {})", host));
  }
  for (const auto& peer : policy_.known_peers) {
    std::string host = peer_host(peer);
    bool ok = covers(leaf, host);
    if (!ok && host.rfind("*.", 0) == 0) {  // a wildcard peer pattern: our own name must fit it
      for (const auto& dns : info.san_dns) {
        auto dot = dns.find('.');
        ok = ok || dns == host || (dot != std::string::npos && dns.substr(dot) == host.substr(1));
      }
    }
    if (ok) continue;
    warning("known_peers",
            fmt::format("certificate {} does not cover known peer {} (it names {})", info.subject,
                        peer, names_of(info)),
            "if the nodes share this certificate, reissue it with every node's name");
  }
}

void PolicyAuditor::check_algorithms() {
  auto versions = resolve_versions(policy_.tls_versions);
  if (!versions) {
    error("tls_versions", versions.error().message(), "");
    return;
  }
  for (auto& e : check_ciphers(policy_.ciphers, *versions)) error("ciphers", e, "");
  for (auto& e : check_groups(policy_.groups)) error("groups", e, "");
}

void PolicyAuditor::check_identities() {
  for (const auto& pin : policy_.pinned_certs) {
    if (auto parsed = pki::parse_pin(pin); !parsed)
      error("pinned_certs", parsed.error().message(), "");
  }
  if (!policy_.allowed_identities.empty() && policy_.client_auth == config::ClientAuth::kNone &&
      !use_.outgoing) {
    warning("allowed_identities", "has no effect: client_auth is NONE, so clients send no identity",
            "set " + key("client_auth") + "=REQUIRE");
  }
}

}  // namespace tlsgate::tls
