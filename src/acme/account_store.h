// The ACME account of one directory in the state folder:
//   STATE/acme/<first 16 hex of SHA-256(directory URL)>/account.key  (0600, PKCS#8 PEM, P-256)
//   STATE/acme/<...>/account.json  {"directory":..., "url":..., "email":...}
// The key is made on first use; folders are 0700; every write is atomic
// (util/atomic_file.h). The account URL is a cache: losing it costs one
// onlyReturnExisting request, losing the key costs a new account.
// Functions of files only; callers serialize use of one state folder.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::acme {

std::filesystem::path account_dir(const std::filesystem::path& state_dir,
                                  const std::string& directory_url);

util::Result<pki::EvpPkeyPtr> load_or_create_account_key(const std::filesystem::path& state_dir,
                                                         const std::string& directory_url);

struct AccountRecord {
  std::string directory;
  std::string url;
  std::string email;
};

// nullopt when there is no account.json yet; an error when it is unreadable.
util::Result<std::optional<AccountRecord>> load_account_record(
    const std::filesystem::path& state_dir, const std::string& directory_url);
util::Status save_account_record(const std::filesystem::path& state_dir,
                                 const AccountRecord& record);

}  // namespace tlsgate::acme
