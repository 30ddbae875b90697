// parse_upload: the body of PUT /v1/policies/SCOPE/certificate, the one-node
// form of RavenDB's "replace certificate" (docs/ADMIN.md). The pair it gives
// is checked and installed by tls/certificate_pair.h, as the cluster's
// replacements are.
#pragma once

#include <string_view>

#include "tls/certificate_pair.h"
#include "util/result.h"

namespace tlsgate::admin {

// {"certificate": PEM, "private_key": PEM} or {"pkcs12": BASE64, "password": "..."}.
// Errors say what the body lacks, e.g. "the body is not JSON: ...".
util::Result<tls::CertificatePair> parse_upload(std::string_view body);

// An upload replaces the policy's files by regular files. A file that is a
// symbolic link (say, to certbot's live/ folder) would be replaced by a
// copy, silently detaching the tool that renews its target; so it is
// refused before anything is written: "FILE is a symbolic link to TARGET;
// update the target ... or replace the link by a file first".
util::Status refuse_symbolic_links(const config::Policy& policy);

}  // namespace tlsgate::admin
