// CertificateUpload: PUT /v1/policies/SCOPE/certificate, the one-node form
// of RavenDB's "replace certificate" (docs/ADMIN.md).
//
// parse_upload() reads the request body; check_upload() checks the material
// as a reload of the policy would (key matches, chain verifies against the
// policy's trusted_dir, names cover the listen hosts of the connectors that
// serve it, valid now) and then builds a real context from it
// (tls::build_context on temp files in the policy's folder), collecting
// every reason at once; install_upload() writes the checked pair over the
// policy's files atomically (util/atomic_file.h: key 0400, certificate
// 0644), the old pair kept as FILE.bak. Nothing is written unless every
// check passed. Control path only (file I/O, OpenSSL parsing).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::admin {

struct UploadMaterial {
  std::string certificate_pem;  // leaf first, then its chain
  std::string private_key_pem;
};

// {"certificate": PEM, "private_key": PEM} or {"pkcs12": BASE64, "password": "..."}.
// Errors say what the body lacks, e.g. "the body is not JSON: ...".
util::Result<UploadMaterial> parse_upload(std::string_view body);

struct UploadTarget {
  config::Policy policy;                  // the settings the policy is served with now
  bool serves_clients = false;            // a connector terminates TLS with it (server side)
  std::vector<std::string> listen_hosts;  // of those connectors; "" and wildcards skipped
  bool expand_commands = false;           // serve --expand-commands, for private_key_password
};

struct UploadRefusal {
  std::vector<std::string> reasons;  // each a sentence: what is wrong with the upload
};

// Ok, or every reason the material would not serve policy `target`.
tl::expected<void, UploadRefusal> check_upload(const UploadMaterial& material,
                                               const UploadTarget& target,
                                               const util::Clock& clock);

// Writes the pair (after check_upload()); the old files become *.bak.
util::Status install_upload(const UploadMaterial& material, const config::Policy& policy);

// Puts the *.bak pair install_upload() kept back in place.
util::Status restore_backup(const config::Policy& policy);

// Decodes standard base64 (whitespace ignored); nullopt when it is not base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace tlsgate::admin
