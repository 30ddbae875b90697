#include "support/test_pki.h"

#include <stdexcept>

#include "pki/crl_issuer.h"
#include "pki/encode.h"
#include "util/atomic_file.h"

namespace tlsgate::test {
namespace {

template <typename T>
T value_or_throw(util::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}

}  // namespace

TestCa make_test_ca(const std::string& name, pki::KeySpec key) {
  pki::CaRequest req;
  req.name = name;
  req.key = key;
  return TestCa{value_or_throw(pki::create_ca(req, util::SystemClock::instance())), name};
}

pki::Issued make_leaf(const TestCa& ca, const std::vector<std::string>& names, bool server,
                      bool client, std::optional<Validity> validity, pki::KeySpec key) {
  pki::CertRequest req;
  req.names = names;
  req.server = server;
  req.client = client;
  req.key = key;
  if (validity) {
    req.not_before = validity->first;
    req.not_after = validity->second;
  }
  return value_or_throw(pki::issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(),
                                               util::SystemClock::instance()));
}

pki::Issued make_leaf(const TestCa& ca, const std::vector<std::string>& names,
                      const LeafOptions& options) {
  pki::CertRequest req;
  req.names = names;
  req.server = options.server;
  req.client = options.client;
  req.ocsp_signing = options.ocsp_signing;
  req.ocsp_urls = options.ocsp_urls;
  req.crl_urls = options.crl_urls;
  req.key = options.key;
  if (options.validity) {
    req.not_before = options.validity->first;
    req.not_after = options.validity->second;
  }
  return value_or_throw(pki::issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(),
                                               util::SystemClock::instance()));
}

pki::Issued make_ocsp_responder(const TestCa& ca, const std::string& name,
                                std::optional<Validity> validity) {
  return make_leaf(ca, {name},
                   LeafOptions{.server = false, .ocsp_signing = true, .validity = validity});
}

void write_cert(const std::filesystem::path& path, const X509* cert) {
  auto pem = value_or_throw(pki::certificate_pem(cert));
  if (auto st = util::write_file_atomic(path, pem, 0644); !st)
    throw std::runtime_error(st.error().message());
}

void write_key(const std::filesystem::path& path, const EVP_PKEY* key) {
  if (auto st = pki::write_private_key(path, key, 0600); !st) {
    throw std::runtime_error(st.error().message());
  }
}

void write_crl(const std::filesystem::path& path, const TestCa& ca,
               const std::vector<const X509*>& revoked, util::SystemTime last_update,
               util::SystemTime next_update) {
  auto crl =
      value_or_throw(pki::create_crl(ca.ca.cert.get(), ca.ca.key.get(), revoked,
                                     util::SystemClock::instance(), last_update, next_update));
  auto pem = value_or_throw(pki::crl_pem(crl.get()));
  std::filesystem::create_directories(path.parent_path());
  if (auto st = util::write_file_atomic(path, pem, 0644); !st)
    throw std::runtime_error(st.error().message());
}

}  // namespace tlsgate::test
