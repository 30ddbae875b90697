// UserMap: which database users a certificate identity may log in as
// (connector.<name>.user_map; NATS verify_and_map, PostgreSQL pg_ident.conf).
//
// The file holds one `IDENTITY DBUSER` pair per line; `#` starts a comment.
// The database user is the last word of the line and the identity is
// everything before it, so identities with spaces (identity_from=subject
// gives "CN=App One,O=Acme") need no quoting. DBUSER `*` lets the identity
// log in as any user. A client without a certificate maps to nothing and is
// refused whenever a user_map is set.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tlsgate::config {

class UserMap {
 public:
  // Parses the file's text; errors name `file` and the line.
  static util::Result<UserMap> parse(std::string_view text, const std::filesystem::path& file);
  static util::Result<UserMap> load(const std::filesystem::path& file);

  bool allows(std::string_view identity, std::string_view user) const;
  // "" when `identity` may log in as `user`, else the sentence the client sees.
  std::string refusal(std::string_view identity, std::string_view user) const;
  size_t size() const { return entries_.size(); }
  bool operator==(const UserMap&) const = default;

 private:
  std::map<std::string, std::set<std::string>, std::less<>> entries_;
};

}  // namespace tlsgate::config
