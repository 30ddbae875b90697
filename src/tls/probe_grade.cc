#include "tls/probe_grade.h"

#include <algorithm>

#include "tls/client_hello.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Mozilla intermediate (v5.7), TLS 1.2 suites, IANA names.
const std::vector<std::string>& intermediate_suites() {
  static const std::vector<std::string> suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                                  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                                  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                                                  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                                                  "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                                                  "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
                                                  "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
  return suites;
}

}  // namespace

std::vector<Finding> grade_intermediate(const GradeInput& in) {
  std::vector<Finding> out;
  auto add = [&out](const char* severity, std::string what, std::string fix) {
    out.push_back({severity, std::move(what), std::move(fix)});
  };
  for (const char* old : {"SSLv3", "TLSv1", "TLSv1.1"}) {
    if (contains(in.versions, old)) {
      add("fail", std::string(old) + " is accepted",
          "allow TLSv1.2 and TLSv1.3 only (tls_versions=TLSv1.2,TLSv1.3)");
    }
  }
  if (!in.versions.empty() && !contains(in.versions, "TLSv1.3")) {
    add("warn", "TLSv1.3 is not accepted", "enable TLSv1.3");
  }
  std::vector<std::string> weak, cbc, static_rsa, outside;
  for (const auto& s : in.tls12_suites) {
    auto t = suite_traits(s);
    if (t.weak) weak.push_back(s + " (" + t.weakness + ")");
    if (t.cbc && !t.weak) cbc.push_back(s);
    if (t.kx == "RSA") static_rsa.push_back(s);
    if (!contains(intermediate_suites(), s) && !t.weak && !t.cbc && t.kx != "RSA") {
      outside.push_back(s);
    }
  }
  if (!weak.empty()) {
    add("fail", "broken suites accepted: " + util::join(weak, ", "),
        "remove them from the server's cipher list");
  }
  if (!cbc.empty()) {
    add("fail", "CBC (non-AEAD) suites accepted: " + util::join(cbc, ", "),
        "offer only AES-GCM and ChaCha20-Poly1305 suites with ECDHE or DHE");
  }
  if (!static_rsa.empty()) {
    add("fail",
        "static RSA key exchange (no forward secrecy) accepted: " + util::join(static_rsa, ", "),
        "remove TLS_RSA_WITH_* suites; keep ECDHE (or DHE) ones");
  }
  if (!outside.empty()) {
    add("warn", "suites outside Mozilla intermediate accepted: " + util::join(outside, ", "),
        "keep to ECDHE/DHE with AES-GCM or ChaCha20-Poly1305");
  }
  if (in.groups_known) {
    std::vector<std::string> odd;
    for (const auto& g : in.groups) {
      if (g != "X25519" && g != "P-256" && g != "P-384") odd.push_back(g);
    }
    if (!odd.empty()) {
      add("warn", "groups outside Mozilla intermediate accepted: " + util::join(odd, ", "),
          "offer X25519, P-256 and P-384 (groups=X25519,P-256,P-384)");
    }
  }
  if (in.leaf_known) {
    bool rsa_short = in.leaf_key_type == "RSA" && in.leaf_key_bits < 2048;
    bool ec_short = in.leaf_key_type == "EC" && in.leaf_key_bits < 256;
    if (rsa_short || ec_short) {
      add("fail",
          "the certificate's key is short: " + in.leaf_key_type + " " +
              std::to_string(in.leaf_key_bits) + " bits",
          "reissue it with RSA 2048+ or ECDSA P-256");
    }
    if (in.leaf_days_left < 0) {
      add("fail", "the certificate has expired", "renew it");
    } else if (in.leaf_days_left <= 30) {
      add("warn", "the certificate expires in " + std::to_string(in.leaf_days_left) + " days",
          "renew it");
    }
  }
  for (const auto& alg : in.signature_algorithms) {
    if (alg.find("sha1") != std::string::npos || alg.find("SHA1") != std::string::npos ||
        alg.find("md5") != std::string::npos) {
      add("fail", "a certificate of the chain is signed with " + alg,
          "reissue it with a SHA-256 signature");
      break;
    }
  }
  return out;
}

}  // namespace tlsgate::tls
