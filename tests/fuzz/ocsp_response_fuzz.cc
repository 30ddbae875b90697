// verify_ocsp_response (pki/ocsp.h) on arbitrary responses, certificates and
// clocks: what a responder, a cache file or a peer's staple can hand us.
//
// Input (fuzz_records.h): an option byte (unused), then records: now (8
// bytes, big-endian Unix seconds), the issuer's DER, the leaf's DER, the
// response. Seeds are minted at build time (make_corpus --keys), since they
// are signed by keys made there.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki/loader.h"
#include "pki/ocsp.h"

namespace {

using namespace tlsgate;

pki::X509Ptr certificate(std::string_view der) {
  // DER only: PEM text is the certificate harness's business.
  if (der.empty() || pki::detect_encoding(der) != pki::Encoding::kDer) return nullptr;
  auto certs = pki::parse_certificates(der, "fuzz.der");
  if (!certs || certs->size() != 1) return nullptr;
  return std::move(certs->front());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Records in(data, size);
  (void)in.options();
  auto now_record = in.next();
  auto issuer_record = in.next();
  auto leaf_record = in.next();
  auto response_record = in.next();
  if (!now_record || !issuer_record || !leaf_record || !response_record) return 0;
  uint64_t seconds = 0;
  for (size_t i = 0; i < now_record->data.size() && i < 8; ++i) {
    seconds = (seconds << 8) | static_cast<uint8_t>(now_record->data[i]);
  }
  // Years 1970 to 2200: any clock a machine could show, inside what
  // SystemTime (64-bit nanoseconds, to 2262) holds.
  auto now = util::SystemTime(
      std::chrono::seconds(static_cast<int64_t>(seconds % (230ULL * 365 * 86400))));
  auto issuer = certificate(issuer_record->data);
  auto leaf = certificate(leaf_record->data);
  if (!issuer || !leaf) return 0;

  (void)pki::ocsp_urls(leaf.get());
  (void)pki::ocsp_request_der(leaf.get(), issuer.get());
  std::vector<pki::X509Ptr> candidates;
  candidates.push_back(pki::up_ref(issuer.get()));
  const X509* found = pki::find_issuer(leaf.get(), candidates);

  std::string_view der = response_record->data;
  auto answer = pki::verify_ocsp_response(der, leaf.get(), issuer.get(), now);
  if (!answer) {
    FUZZ_CHECK(answer.error().message().rfind("OCSP response for ", 0) == 0);
    return 0;
  }
  // Only a response from the leaf's real issuer, current at now, gets here.
  FUZZ_CHECK(found == issuer.get());
  FUZZ_CHECK(answer->der == der);
  FUZZ_CHECK(answer->serial_hex == pki::serial_to_hex(leaf.get()));
  FUZZ_CHECK(answer->this_update <= now + pki::kOcspClockSkew);
  if (answer->next_update) {
    FUZZ_CHECK(*answer->next_update >= now);
    FUZZ_CHECK(*answer->next_update >= answer->this_update);
  }
  bool revoked = answer->status == pki::OcspAnswer::Status::kRevoked;
  FUZZ_CHECK(revoked == answer->revoked_at.has_value());
  if (!revoked) FUZZ_CHECK(answer->reason == -1);
  (void)pki::status_name(answer->status);
  (void)pki::revocation_reason_name(answer->reason);
  return 0;
}
