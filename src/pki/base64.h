// Standard base64 (RFC 4648 section 4, with padding) over OpenSSL's EVP
// block coder: pins, PKCS#12 uploads, etcd's JSON gateway, sealed keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::pki {

std::string encode_base64(std::string_view bytes);

// The bytes, or nullopt when `text` is not base64 (whitespace is skipped,
// padding must be right).
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace tlsgate::pki
