// Helpers shared by the `cert` verbs: the CA folder, passwords, JSON and
// text renderings of certificates. Used only inside cli.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pki/certificate_info.h"
#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::cli {

struct CaMaterial {
  std::vector<pki::X509Ptr> certs;  // ca.crt: the issuing CA first, then its chain
  pki::EvpPkeyPtr key;              // ca.key
};
// Reads DIR/ca.crt and DIR/ca.key (as `cert ca --out DIR` wrote them).
util::Result<CaMaterial> load_ca_dir(const std::filesystem::path& dir);

// A password from FILE (first line, newline stripped), or, when no file is
// given and stdin is a terminal, from a prompt with echo off (asked twice when
// `confirm`). Without either: an error telling to pass --password-file.
util::Result<util::Secret> read_password(const std::optional<std::filesystem::path>& file,
                                         const std::string& prompt, bool confirm);

nlohmann::json to_json(const pki::CertificateInfo& info);
// The readable block `cert inspect` prints for one certificate.
std::string to_text(const pki::CertificateInfo& info);

}  // namespace tlsgate::cli
