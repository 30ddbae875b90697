#include "pki/ocsp.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"

namespace tlsgate::pki {
namespace {

// Certificates in one response that claim to be its signer and are checked
// (a signature check each): a real responder sends one.
constexpr int kMaxSignerCandidates = 8;

// "OCSP response for SUBJECT (serial HEX)": the start of every verification error.
std::string about(const X509* leaf) {
  return "OCSP response for " + subject_of(leaf) + " (serial " + serial_to_hex(leaf) + ")";
}

// OK when issuer's name and key identifier fit leaf and issuer's key signed it.
bool issued_by(const X509* cert, const X509* issuer) {
  // Both only read the certificates (and fill OpenSSL's extension caches).
  bool ok = X509_check_issued(unconst(issuer), unconst(cert)) == X509_V_OK &&
            X509_verify(unconst(cert), X509_get0_pubkey(issuer)) == 1;
  clear_openssl_errors();
  return ok;
}

util::Status check_issuer(const X509* leaf, const X509* issuer, const std::string& what) {
  if (issued_by(leaf, issuer)) return {};
  return util::fail(what + ": " + subject_of(issuer) + " (serial " + serial_to_hex(issuer) +
                    ") is not its issuer; give the CA certificate that signed it");
}

// The responder the response names: "CN=x,O=y", or "key hash AB:CD:..".
std::string responder_name(const ASN1_OCTET_STRING* key_hash, const X509_NAME* name) {
  if (name != nullptr) return name_to_string(name);
  std::string out = "key hash ";
  const unsigned char* b = ASN1_STRING_get0_data(key_hash);
  for (int i = 0; i < ASN1_STRING_length(key_hash); ++i) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (i > 0) out += ':';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

// RFC 6960 4.2.1 ResponderID: byName is the subject, byKey the SHA-1 of the
// subjectPublicKey BIT STRING.
bool responder_id_matches(const ASN1_OCTET_STRING* key_hash, const X509_NAME* name,
                          const X509* cert) {
  if (name != nullptr) return X509_NAME_cmp(name, X509_get_subject_name(cert)) == 0;
  if (key_hash == nullptr) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) {
    clear_openssl_errors();
    return false;
  }
  return static_cast<int>(len) == ASN1_STRING_length(key_hash) &&
         std::memcmp(md, ASN1_STRING_get0_data(key_hash), len) == 0;
}

bool has_ocsp_signing(const X509* cert) {
  // X509_get_extension_flags fills the extension cache on first use.
  uint32_t flags = X509_get_extension_flags(unconst(cert));
  return (flags & EXFLAG_XKUSAGE) != 0 &&
         (X509_get_extended_key_usage(unconst(cert)) & XKU_OCSP_SIGN) != 0;
}

// Rule 3: the certificate whose key must have signed the response.
util::Result<const X509*> authorized_signer(OCSP_BASICRESP* bs, const X509* leaf,
                                            const X509* issuer, util::SystemTime now) {
  const ASN1_OCTET_STRING* key_hash = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(bs, &key_hash, &name) != 1) {
    clear_openssl_errors();
    return util::fail(about(leaf) + " names no responder; the responder sent a broken response");
  }
  if (responder_id_matches(key_hash, name, issuer)) return issuer;
  std::string signer = responder_name(key_hash, name);
  const STACK_OF(X509)* certs = OCSP_resp_get0_certs(bs);
  const X509* unauthorized = nullptr;
  std::string why;
  int tried = 0;
  for (int i = 0; i < sk_X509_num(certs) && tried < kMaxSignerCandidates; ++i) {
    const X509* cand = sk_X509_value(certs, i);
    if (!responder_id_matches(key_hash, name, cand)) continue;
    ++tried;
    if (!issued_by(cand, issuer)) {
      if (unauthorized == nullptr) unauthorized = cand;
      continue;
    }
    std::string cand_name = subject_of(cand) + " (serial " + serial_to_hex(cand) + ")";
    if (!has_ocsp_signing(cand)) {
      why = "is signed by " + cand_name + ", a certificate of the issuer " + subject_of(issuer) +
            " without extendedKeyUsage OCSPSigning, so not a delegated OCSP responder; issue the "
            "responder's certificate with OCSPSigning (`tlsgate cert issue --ocsp-signing`)";
      continue;
    }
    auto not_before = to_system_time(X509_get0_notBefore(cand));
    auto not_after = to_system_time(X509_get0_notAfter(cand));
    if (now < not_before || now > not_after) {
      why = "is signed by the delegated OCSP responder " + cand_name + ", which is " +
            (now < not_before ? "not valid before " + format_time(not_before)
                              : "expired since " + format_time(not_after)) +
            "; renew the responder's certificate";
      continue;
    }
    return cand;
  }
  if (!why.empty()) return util::fail(about(leaf) + " " + why);
  std::string tail = unauthorized != nullptr ? "" : " (the response carries no certificate for it)";
  return util::fail(about(leaf) + " is signed by " + signer + ", which is neither the issuer " +
                    subject_of(issuer) + " nor a delegated OCSP responder of it" + tail +
                    "; ask the responder that serves this issuer");
}

// Rule 4: the signature, through OpenSSL with the one signer we chose:
// NOINTERN keeps it from picking a certificate out of the response,
// NOVERIFY from building a chain to anything (rule 3 did the authorizing).
util::Status check_signature(OCSP_BASICRESP* bs, const X509* signer, const X509* leaf) {
  X509StackPtr certs(sk_X509_new_null());
  X509StorePtr empty(X509_STORE_new());
  X509Ptr ref = up_ref(signer);
  if (!certs || !empty || sk_X509_push(certs.get(), ref.get()) == 0) {
    return util::fail(openssl_error(about(leaf) + ": cannot set up the signature check"));
  }
  (void)ref.release();  // owned by certs
  clear_openssl_errors();
  if (OCSP_basic_verify(bs, certs.get(), empty.get(), OCSP_NOINTERN | OCSP_NOVERIFY) != 1) {
    std::string reasons = drain_openssl_errors();
    return util::fail(about(leaf) + ": its signature does not verify with the key of " +
                      subject_of(signer) + (reasons.empty() ? "" : " (" + reasons + ")") +
                      "; the response was altered or signed by another key");
  }
  return {};
}

std::string serial_of(OCSP_CERTID* id) {
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, id) != 1 || serial == nullptr) {
    return "?";
  }
  std::string hex = integer_to_hex(serial);
  clear_openssl_errors();
  return hex.empty() ? "?" : hex;
}

// Rule 5: the SingleResponse about leaf, or null (with *others the serials seen).
OCSP_SINGLERESP* find_single(OCSP_BASICRESP* bs, const X509* leaf, const X509* issuer,
                             std::vector<std::string>* others) {
  std::map<int, OcspCertIdPtr> ids;  // leaf's CertID per hash algorithm, made on demand
  for (int i = 0; i < OCSP_resp_count(bs); ++i) {
    OCSP_SINGLERESP* single = OCSP_resp_get0(bs, i);
    // OCSP_SINGLERESP_get0_id returns a const id that OCSP_id_get0_info reads only.
    auto* id = const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(single));
    ASN1_OBJECT* md_oid = nullptr;
    if (id == nullptr || OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, id) != 1) continue;
    int nid = OBJ_obj2nid(md_oid);
    auto& mine = ids[nid];
    if (!mine) {
      const EVP_MD* md = EVP_get_digestbynid(nid);
      if (md != nullptr) mine.reset(OCSP_cert_to_id(md, leaf, issuer));
    }
    if (mine && OCSP_id_cmp(mine.get(), id) == 0) return single;
    if (others->size() < 3) others->push_back(serial_of(id));
  }
  clear_openssl_errors();
  return nullptr;
}

util::Result<util::SystemTime> read_time(const ASN1_GENERALIZEDTIME* t, const char* field,
                                         const X509* leaf) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    clear_openssl_errors();
    return util::fail(about(leaf) + ": its " + field +
                      " is not a valid time; the responder sent a broken response");
  }
  return to_system_time(t);
}

}  // namespace

std::vector<std::string> ocsp_urls(const X509* cert) {
  StringStackPtr urls(X509_get1_ocsp(unconst(cert)));
  clear_openssl_errors();
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::max(0, sk_OPENSSL_STRING_num(urls.get()))));
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls.get()); ++i) {
    out.emplace_back(sk_OPENSSL_STRING_value(urls.get(), i));
  }
  return out;
}

util::Result<std::string> ocsp_request_der(const X509* leaf, const X509* issuer) {
  std::string what =
      "OCSP request for " + subject_of(leaf) + " (serial " + serial_to_hex(leaf) + ")";
  if (auto st = check_issuer(leaf, issuer, what); !st) return util::fail(st.error());
  clear_openssl_errors();
  OcspRequestPtr req(OCSP_REQUEST_new());
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), leaf, issuer));
  if (!req || !id || OCSP_request_add0_id(req.get(), id.get()) == nullptr) {
    return util::fail(openssl_error("cannot build the " + what));
  }
  (void)id.release();  // owned by req
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0) return util::fail(openssl_error("cannot encode the " + what));
  OpensslBytes owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

const char* status_name(OcspAnswer::Status status) {
  switch (status) {
    case OcspAnswer::Status::kGood:
      return "good";
    case OcspAnswer::Status::kRevoked:
      return "revoked";
    case OcspAnswer::Status::kUnknown:
      break;
  }
  return "unknown";
}

std::string revocation_reason_name(int reason) {
  if (reason < 0) return "unspecified";
  // OCSP_crl_reason_str answers "(UNKNOWN)" for codes it does not know.
  std::string name = OCSP_crl_reason_str(reason);
  return name.empty() || name.front() == '(' ? "unspecified" : name;
}

util::Result<OcspAnswer> verify_ocsp_response(std::string_view der, const X509* leaf,
                                              const X509* issuer, util::SystemTime now) {
  if (der.size() > kMaxOcspResponseSize) {
    return util::fail(about(leaf) + " is " + std::to_string(der.size()) + " bytes, more than the " +
                      std::to_string(kMaxOcspResponseSize) +
                      " an OCSP response may have; the responder sent something else");
  }
  if (auto st = check_issuer(leaf, issuer, about(leaf)); !st) return util::fail(st.error());

  // Rule 1: exactly one DER OCSPResponse.
  clear_openssl_errors();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) {
    std::string reasons = drain_openssl_errors();
    return util::fail(about(leaf) + " is not a DER OCSP response" +
                      (reasons.empty() ? "" : " (" + reasons + ")") +
                      "; the responder sent something else");
  }
  size_t used = static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(der.data()));
  if (used != der.size()) {
    return util::fail(about(leaf) + " has " + std::to_string(der.size() - used) +
                      " bytes after its end; the responder sent something else");
  }

  // Rule 2: a successful, basic response.
  int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return util::fail(about(leaf) + ": the responder answered \"" +
                      OCSP_response_status_str(status) + "\" (" + std::to_string(status) +
                      ") instead of a status; check that it serves the issuer " +
                      subject_of(issuer));
  }
  OcspBasicRespPtr bs(OCSP_response_get1_basic(resp.get()));
  if (!bs) {
    clear_openssl_errors();
    return util::fail(about(leaf) + " is not a basic OCSP response, the only kind there is");
  }

  // Rules 3 and 4: who signed it, and did they.
  auto signer = authorized_signer(bs.get(), leaf, issuer, now);
  if (!signer) return util::fail(signer.error());
  if (auto st = check_signature(bs.get(), *signer, leaf); !st) return util::fail(st.error());

  // Rule 5: about this leaf.
  std::vector<std::string> others;
  OCSP_SINGLERESP* single = find_single(bs.get(), leaf, issuer, &others);
  if (single == nullptr) {
    std::string seen;
    for (const auto& s : others) seen += (seen.empty() ? "" : ", ") + s;
    return util::fail(
        about(leaf) + " answers for " +
        (others.empty() ? "no certificate at all" : "other certificates (serial " + seen + ")") +
        ", not for this one; the responder or a cache mixed up certificates");
  }

  // Rule 6: current.
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  int cert_status =
      OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
  OcspAnswer answer;
  auto this_time = read_time(this_update, "thisUpdate", leaf);
  if (!this_time) return util::fail(this_time.error());
  answer.this_update = *this_time;
  if (answer.this_update > now + kOcspClockSkew) {
    return util::fail(about(leaf) + ": its thisUpdate " + format_time(answer.this_update) +
                      " is in the future (now " + format_time(now) +
                      "); check this machine's clock and the responder's");
  }
  if (next_update != nullptr) {
    auto next_time = read_time(next_update, "nextUpdate", leaf);
    if (!next_time) return util::fail(next_time.error());
    answer.next_update = *next_time;
    if (*answer.next_update < answer.this_update) {
      return util::fail(about(leaf) + ": its nextUpdate " + format_time(*answer.next_update) +
                        " is before its thisUpdate " + format_time(answer.this_update) +
                        "; the responder sent a broken response");
    }
    if (*answer.next_update < now) {
      return util::fail(about(leaf) + " has expired: its nextUpdate " +
                        format_time(*answer.next_update) + " has passed (now " + format_time(now) +
                        "); fetch a fresh one");
    }
  }
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      answer.status = OcspAnswer::Status::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED: {
      answer.status = OcspAnswer::Status::kRevoked;
      auto at = read_time(revoked_at, "revocationTime", leaf);
      if (!at) return util::fail(at.error());
      answer.revoked_at = *at;
      answer.reason = reason;
      break;
    }
    default:
      answer.status = OcspAnswer::Status::kUnknown;
      break;
  }
  answer.serial_hex = serial_to_hex(leaf);
  answer.der.assign(der);
  clear_openssl_errors();
  return answer;
}

std::string ocsp_cache_file_name(const X509* leaf) {
  std::string name;
  for (char c : fingerprint_sha256(leaf)) {
    if (c != ':') name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name + ".der";
}

}  // namespace tlsgate::pki
