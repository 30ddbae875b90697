// Internal to pki: splitting PEM text into its blocks and classifying bytes.
//
// read_pem_blocks() returns every "-----BEGIN NAME-----" block in order with
// its headers and decoded DER, skipping text around blocks (as OpenSSL does);
// the error is OpenSSL's reason for the first block it could not read
// (missing END line, bad base64, ...). Thread-safe, touches only its arguments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tlsgate::pki {

struct PemBlock {
  std::string name;    // "CERTIFICATE", "PRIVATE KEY", ...
  std::string header;  // "Proc-Type: 4,ENCRYPTED\n..." for legacy encrypted keys, else ""
  std::string der;
};

util::Result<std::vector<PemBlock>> read_pem_blocks(std::string_view data);

// True when data is only whitespace.
bool is_blank(std::string_view data);
// True when data looks like text (no control bytes other than whitespace), i.e. not DER.
bool looks_like_text(std::string_view data);

}  // namespace tlsgate::pki
