#include "pki/csr.h"

#include <arpa/inet.h>
#include <openssl/pem.h>

#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "pki/openssl_error.h"
#include "pki/pem_blocks.h"
#include "pki/subject_names.h"
#include "pki/x509_build.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

util::Status add_request_extension(STACK_OF(X509_EXTENSION) * exts, int nid,
                                   const std::string& value) {
  clear_openssl_errors();
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, nid, value.c_str()));
  if (!ext || sk_X509_EXTENSION_push(exts, ext.get()) == 0) {
    return util::fail(openssl_error(std::string("cannot build the ") + OBJ_nid2sn(nid) +
                                    " extension \"" + value + "\""));
  }
  (void)ext.release();  // now owned by exts
  return {};
}

std::string ia5(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::optional<std::string> ip_text(const ASN1_OCTET_STRING* s) {
  char buf[INET6_ADDRSTRLEN] = {};
  int len = ASN1_STRING_length(s);
  const unsigned char* data = ASN1_STRING_get0_data(s);
  if (len == 4 && ::inet_ntop(AF_INET, data, buf, sizeof buf) != nullptr) return std::string(buf);
  if (len == 16 && ::inet_ntop(AF_INET6, data, buf, sizeof buf) != nullptr) return std::string(buf);
  return std::nullopt;
}

}  // namespace

util::Result<Csr> create_csr(const CsrRequest& req) {
  if (req.names.empty()) {
    return util::fail(
        "a request needs at least one name; give a DNS name, IP address, email address or URI");
  }
  auto names = classify_names(req.names);
  if (!names) return util::fail(names.error());
  if (req.existing_key) {
    if (auto st = check_leaf_key(req.existing_key.get()); !st) {
      return util::fail("the key to reuse is " + st.error().message() +
                        "; make a new key instead (without --reuse-key)");
    }
  }
  auto made = existing_or_new_key(req.existing_key, req.key);
  if (!made) return util::fail(made.error());
  EvpPkeyPtr key = std::move(*made);
  clear_openssl_errors();
  X509ReqPtr csr(X509_REQ_new());
  X509NamePtr subject(X509_NAME_new());
  // As in a certificate: a name too long for a CN is requested in the subjectAltName only.
  auto cn = leaf_common_name(req.names);
  bool ok = csr && subject && X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) == 1 &&
            (!cn || X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                               reinterpret_cast<const unsigned char*>(cn->c_str()),
                                               -1, -1, 0) == 1) &&
            X509_REQ_set_subject_name(csr.get(), subject.get()) == 1 &&
            X509_REQ_set_pubkey(csr.get(), key.get()) == 1;
  if (!ok) {
    return util::fail(openssl_error("cannot build the certificate request for " +
                                    std::string(util::trim(req.names.front()))));
  }
  X509ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts) return util::fail(openssl_error("out of memory"));
  auto usages = leaf_usages(key.get(), req.server, req.client, false);
  for (const auto& [nid, value] :
       std::vector<std::pair<int, std::string>>{{NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, usages.key_usage},
                                                {NID_ext_key_usage, usages.extended_key_usage}}) {
    if (auto st = add_request_extension(exts.get(), nid, value); !st) return util::fail(st.error());
  }
  auto gens = make_general_names(*names);
  if (!gens) return util::fail(gens.error());
  X509ExtensionPtr san(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens->get()));
  if (!san || sk_X509_EXTENSION_push(exts.get(), san.get()) == 0) {
    return util::fail(openssl_error("cannot build the subjectAltName extension"));
  }
  (void)san.release();  // now owned by exts
  if (X509_REQ_add_extensions(csr.get(), exts.get()) != 1) {
    return util::fail(openssl_error("cannot add the extensions to the request"));
  }
  // X509_REQ_sign only reads the key; OpenSSL 3.0 lacks the const.
  if (X509_REQ_sign(csr.get(), key.get(), signature_digest(key.get())) <= 0) {
    return util::fail(openssl_error("cannot sign the certificate request"));
  }
  return Csr{std::move(csr), std::move(key)};
}

util::Result<std::string> csr_pem(const X509_REQ* req) {
  clear_openssl_errors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req) != 1) {
    return util::fail(openssl_error("cannot encode the certificate request as PEM"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

util::Result<X509ReqPtr> parse_csr(std::string_view data, const std::string& source) {
  if (data.empty())
    return util::fail(source + ": empty file; expected a PEM or DER certificate request");
  const bool pem = detect_encoding(data) == Encoding::kPem;
  const std::string not_one =
      source + (pem ? ": not a PEM certificate request (no -----BEGIN CERTIFICATE REQUEST----- "
                      "block), or a corrupted one"
                    : ": not a DER certificate request, or a corrupted one");
  std::string_view der = data;
  std::vector<PemBlock> blocks;  // der may point into one of them
  if (pem) {
    auto read = read_pem_blocks(data);
    if (!read) return util::fail(not_one + ": " + read.error().message());
    blocks = std::move(*read);
    size_t found = 0;
    for (const auto& b : blocks) {
      if (b.name == "CERTIFICATE REQUEST" || b.name == "NEW CERTIFICATE REQUEST") {
        if (found++ == 0) der = b.der;
      }
    }
    if (found == 0) return util::fail(not_one);
    if (found > 1) {
      return util::fail(source + ": holds " + std::to_string(found) +
                        " certificate requests; give one request per file");
    }
  }
  clear_openssl_errors();
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const auto* p = begin;
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) {
    std::string reasons = drain_openssl_errors();
    return util::fail(not_one + (reasons.empty() ? std::string() : ": " + reasons));
  }
  // As loader.h reads certificates and CRLs: exactly one DER object; bytes after it are
  // corruption (files concatenated, a transfer that appended something), never ignored.
  if (auto used = static_cast<size_t>(p - begin); used != der.size()) {
    return util::fail(source + ": truncated or corrupted certificate request: " +
                      std::to_string(der.size() - used) +
                      " bytes after the request; give a file that holds the request alone");
  }
  return req;
}

util::Result<std::vector<std::string>> requested_names(const X509_REQ* req,
                                                       const std::string& source) {
  std::vector<std::string> out;
  X509ExtensionStackPtr exts(X509_REQ_get_extensions(unconst(req)));
  clear_openssl_errors();
  GeneralNamesPtr gens;
  if (exts) {
    gens.reset(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
  }
  if (gens) {
    for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
      const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens.get(), i);
      switch (gen->type) {
        case GEN_DNS:
          out.push_back(ia5(gen->d.dNSName));
          break;
        case GEN_EMAIL:
          out.push_back(ia5(gen->d.rfc822Name));
          break;
        case GEN_URI:
          out.push_back(ia5(gen->d.uniformResourceIdentifier));
          break;
        case GEN_IPADD: {
          auto ip = ip_text(gen->d.iPAddress);
          if (!ip) {
            return util::fail(source + ": subjectAltName holds an IP address of " +
                              std::to_string(ASN1_STRING_length(gen->d.iPAddress)) +
                              " bytes (an address range?); request IPv4 or IPv6 addresses only");
          }
          out.push_back(*ip);
          break;
        }
        default:
          return util::fail(source +
                            ": subjectAltName holds a name of a type tlsgate does not "
                            "issue (otherName, directoryName, ...); request only DNS names, IP "
                            "addresses, emails and URIs");
      }
    }
  } else {
    const X509_NAME* subject = X509_REQ_get_subject_name(req);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, cn);
      OpensslBytes owned(utf8);
      if (len > 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    }
  }
  if (out.empty()) {
    return util::fail(source +
                      ": the request names nothing (no subjectAltName and no subject CN); make "
                      "it with the names the certificate is for (`tlsgate cert csr NAME...`, or "
                      "`openssl req -addext subjectAltName=DNS:NAME`)");
  }
  return out;
}

util::Result<X509Ptr> sign_csr(const X509_REQ* req, const std::string& source,
                               const SignRequest& how, const X509* ca_cert, const EVP_PKEY* ca_key,
                               const util::Clock& clock) {
  // The CA first: nothing about the request matters when the CA cannot sign anything valid.
  if (!how.not_before && !how.not_after) {
    if (auto st = check_ca_validity(ca_cert, how.ca_source, clock); !st) {
      return util::fail(st.error());
    }
  }
  clear_openssl_errors();
  EVP_PKEY* pub = X509_REQ_get0_pubkey(unconst(req));
  if (pub == nullptr) {
    return util::fail(openssl_error(source + ": the request's public key cannot be read"));
  }
  if (X509_REQ_verify(unconst(req), pub) != 1) {
    clear_openssl_errors();
    return util::fail(source +
                      ": the request's signature does not verify (altered after it was made, or "
                      "not signed by its own key); ask for a new request");
  }
  // The same rule as for a key tlsgate makes or reuses: nothing a TLS client would reject.
  if (auto st = check_leaf_key(pub); !st) {
    return util::fail(source + ": the request holds " + st.error().message() +
                      "; ask for a new request with such a key");
  }
  auto names = requested_names(req, source);
  if (!names) return util::fail(names.error());
  CertRequest cert_req;
  cert_req.names = *names;
  cert_req.server = how.server || !how.client;
  cert_req.client = how.client;
  cert_req.days = how.days;
  cert_req.not_before = how.not_before;
  cert_req.not_after = how.not_after;
  cert_req.ca_source = how.ca_source;
  cert_req.on_warning = how.on_warning;
  cert_req.existing_key = up_ref(pub);
  auto issued = issue_certificate(cert_req, ca_cert, ca_key, clock);
  if (!issued) return util::fail(issued.error().prefixed(source));
  return std::move(issued->cert);
}

}  // namespace tlsgate::pki
