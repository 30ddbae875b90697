// SecretBox: AES-256-GCM sealing with the cluster's shared secret
// (cluster.secret_file), so that a private key crosses etcd, and lives in its
// backups, only as ciphertext (issue 15).
//
// The secret is 32 random bytes that every node has; its key id (the first 8
// bytes of SHA-256 over a label and the secret, hex) travels with each sealed
// value, so a node with another secret says so instead of "bad tag". The
// associated data binds a sealed key to its record (replacement id and
// scope): a sealed key copied into another record does not open.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

struct Sealed {
  std::string key_id;      // hex, 16 characters
  std::string nonce;       // 12 raw bytes
  std::string ciphertext;  // raw, the 16-byte GCM tag appended
};

class SecretBox {
 public:
  // The secret must be exactly 32 bytes.
  static util::Result<SecretBox> from_bytes(util::Secret secret);
  // Reads cluster.secret_file: exactly 32 bytes, readable by its owner only
  // (no group or other bits). Errors name the file and say how to make one.
  static util::Result<SecretBox> load(const std::filesystem::path& file);

  const std::string& key_id() const { return key_id_; }

  util::Result<Sealed> seal(std::string_view plaintext, std::string_view associated) const;
  // Fails when the key id differs (another secret), or the tag does not
  // verify (tampered, or other associated data).
  util::Result<util::Secret> open(const Sealed& sealed, std::string_view associated) const;

 private:
  SecretBox(util::Secret secret, std::string key_id)
      : secret_(std::move(secret)), key_id_(std::move(key_id)) {}
  util::Secret secret_;
  std::string key_id_;
};

}  // namespace tlsgate::pki
