// Test certificates minted per test through pki (STYLE.md practice 17).
//
// Nothing is committed: every test makes its CA and leaves here. The helpers
// throw std::runtime_error on failure (a test fails with the message).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pki/issuer.h"
#include "util/clock.h"

namespace tlsgate::test {

struct TestCa {
  pki::Issued ca;  // ca.cert, ca.key
  std::string name;
};

// A CA with subject CN=name, O=tlsgate (ECDSA P-256 unless key says RSA).
TestCa make_test_ca(const std::string& name = "tlsgate test CA", pki::KeySpec key = {});

// [not_before, not_after] of a certificate.
using Validity = std::pair<util::SystemTime, util::SystemTime>;

// A leaf issued by ca for names (server and/or client), valid now unless validity is given.
pki::Issued make_leaf(const TestCa& ca, const std::vector<std::string>& names, bool server = true,
                      bool client = false, std::optional<Validity> validity = {},
                      pki::KeySpec key = {});

// Everything else a test may want in a leaf (make_leaf above covers the usual).
struct LeafOptions {
  bool server = true;
  bool client = false;
  bool ocsp_signing = false;             // a delegated OCSP responder of the CA
  std::vector<std::string> ocsp_urls{};  // Authority Information Access: OCSP responders
  std::vector<std::string> crl_urls{};   // CRL Distribution Points
  std::optional<Validity> validity{};
  pki::KeySpec key{};
};
pki::Issued make_leaf(const TestCa& ca, const std::vector<std::string>& names,
                      const LeafOptions& options);

// A delegated OCSP responder certificate of ca (extendedKeyUsage OCSPSigning
// only), valid now unless validity is given.
pki::Issued make_ocsp_responder(const TestCa& ca, const std::string& name = "ocsp.test",
                                std::optional<Validity> validity = {});

// Writes cert as PEM (0644) / key as unencrypted PKCS#8 PEM (0600).
void write_cert(const std::filesystem::path& path, const X509* cert);
void write_key(const std::filesystem::path& path, const EVP_PKEY* key);

// Writes a CRL of ca (PEM, 0644; folders created) revoking `revoked`, with the given
// lastUpdate and nextUpdate (a nextUpdate in the past makes a stale CRL).
void write_crl(const std::filesystem::path& path, const TestCa& ca,
               const std::vector<const X509*>& revoked, util::SystemTime last_update,
               util::SystemTime next_update);

}  // namespace tlsgate::test
