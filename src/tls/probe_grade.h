// Grading what `tlsgate probe --enumerate` found against Mozilla's
// "intermediate" server profile (TLS 1.2 and 1.3; ECDHE/DHE with AEAD
// suites; X25519, P-256, P-384; RSA >= 2048 or ECDSA P-256/P-384 keys;
// SHA-256+ signatures), plus certificate expiry within 30 days. One finding
// per problem, each with what to change. Pure function; any thread.
#pragma once

#include <string>
#include <vector>

namespace tlsgate::tls {

struct GradeInput {
  std::vector<std::string> versions;  // accepted: "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
  std::vector<std::string> tls12_suites;  // IANA names accepted under TLS 1.2 and older
  std::vector<std::string> groups;        // accepted groups
  bool groups_known = false;              // groups were enumerated
  std::string leaf_key_type;              // "RSA", "EC", ...
  std::string leaf_key_curve;             // "P-256", ...
  int leaf_key_bits = 0;
  bool leaf_known = false;
  long leaf_days_left = 0;
  std::vector<std::string>
      signature_algorithms;  // of the served chain, leaf first (roots excluded)
};

struct Finding {
  std::string severity;  // "fail" (outside the profile) or "warn"
  std::string what;
  std::string fix;
};

std::vector<Finding> grade_intermediate(const GradeInput& in);

}  // namespace tlsgate::tls
