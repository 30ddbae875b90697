// Certificate signing requests: made for an outside CA (`tlsgate cert csr`)
// and signed by our CA (`tlsgate cert sign`). Pure functions; thread-safe.
//
// A request asks for what `cert issue` would put in the certificate: subject
// CN = the first name that fits in a CN (leaf_common_name()), subjectAltName
// of every name, basicConstraints CA:FALSE, keyUsage and extendedKeyUsage per
// issuer.h's rules. Signing a request takes only its public key and its
// subjectAltName; every other extension it asks for (CA:TRUE, keyCertSign,
// name constraints, ...) is ignored and our rules apply, so a request cannot
// make itself a CA.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "pki/issuer.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

struct CsrRequest {
  std::vector<std::string> names;  // SANs; the CN is leaf_common_name(names)
  bool server = true;              // serverAuth (also when client is not set)
  bool client = false;             // clientAuth
  KeySpec key;
  EvpPkeyPtr existing_key;  // sign the request with this key instead of a new one
};

struct Csr {
  X509ReqPtr request;
  EvpPkeyPtr key;
};

util::Result<Csr> create_csr(const CsrRequest& req);
util::Result<std::string> csr_pem(const X509_REQ* req);

// PEM (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST) or DER, one request. Errors name the
// source; as for certificates (loader.h), bytes after the request's DER (in the file, or inside
// its PEM block) are an error ("N bytes after the request"), and so are two request blocks.
util::Result<X509ReqPtr> parse_csr(std::string_view data, const std::string& source);

// The names of a request's subjectAltName, spelled as `cert issue` takes them
// ("db1.example.com", "10.0.0.5", "a@example.com", "spiffe://..."). Other
// name types are an error naming them. Without a subjectAltName: the subject CN alone.
util::Result<std::vector<std::string>> requested_names(const X509_REQ* req,
                                                       const std::string& source);

struct SignRequest {
  bool server = true;   // serverAuth (also when client is not set)
  bool client = false;  // clientAuth
  int days = 397;       // capped at the CA's notAfter, with a warning (issuer.h)
  std::optional<util::SystemTime> not_before;
  std::optional<util::SystemTime> not_after;
  std::string ca_source = "ca.crt";  // the CA certificate's file, for messages
  WarningSink on_warning = warn_on_stderr;
};

// Checks that the CA is valid now (check_ca_validity), verifies the request's
// self-signature (an error names the source when it does not verify) and its
// key (check_leaf_key), then issues a certificate for its public key and names
// (requested_names) with issue_certificate()'s extensions and validity rules.
util::Result<X509Ptr> sign_csr(const X509_REQ* req, const std::string& source,
                               const SignRequest& how, const X509* ca_cert, const EVP_PKEY* ca_key,
                               const util::Clock& clock);

}  // namespace tlsgate::pki
