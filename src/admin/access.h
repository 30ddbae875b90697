// Access: what a caller of the admin API may do, decided by the identity of
// its client certificate (docs/ADMIN.md).
//
// The identity is the one the admin policy's identity_from maps the
// certificate to (tls/peer_identity.h), exactly as connectors map theirs.
// Plain data, no I/O; safe to share across threads once built.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "config/settings.h"

namespace tlsgate::admin {

enum class Role {
  kNone,       // in neither list: 403 on every request
  kReadOnly,   // admin.read_only_identities: GET only
  kReadWrite,  // admin.allowed_identities: everything
};

std::string_view to_string(Role r);

class AccessList {
 public:
  explicit AccessList(const config::Admin& admin);
  // An identity in both lists may write: the wider grant wins.
  Role role_of(const std::string& identity) const;

 private:
  std::set<std::string> read_write_, read_only_;
};

// GET and HEAD read; every other method changes something.
bool is_read(std::string_view method);
bool permits(Role role, std::string_view method);

}  // namespace tlsgate::admin
