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

}  // namespace tlsgate::admin
