#include "admin/access.h"

namespace tlsgate::admin {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kNone:
      return "none";
    case Role::kReadOnly:
      return "read-only";
    case Role::kReadWrite:
      return "read-write";
  }
  return "none";
}

AccessList::AccessList(const config::Admin& admin)
    : read_write_(admin.allowed_identities.begin(), admin.allowed_identities.end()),
      read_only_(admin.read_only_identities.begin(), admin.read_only_identities.end()) {}

Role AccessList::role_of(const std::string& identity) const {
  // An empty identity (a certificate the mapping finds nothing in) is nobody,
  // even if a list held an empty item.
  if (identity.empty()) return Role::kNone;
  if (read_write_.count(identity)) return Role::kReadWrite;
  if (read_only_.count(identity)) return Role::kReadOnly;
  return Role::kNone;
}

bool is_read(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool permits(Role role, std::string_view method) {
  switch (role) {
    case Role::kReadWrite:
      return true;
    case Role::kReadOnly:
      return is_read(method);
    case Role::kNone:
      return false;
  }
  return false;
}

}  // namespace tlsgate::admin
