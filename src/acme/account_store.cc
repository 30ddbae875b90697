#include "acme/account_store.h"

#include <sys/stat.h>

#include <system_error>

#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include "pki/encode.h"
#include "pki/issuer.h"
#include "pki/private_key_loader.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::acme {

namespace {

constexpr uintmax_t kMaxRecord = uintmax_t{64} * 1024;

util::Status make_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return util::fail("cannot create the ACME state folder " + dir.string() + ": " + ec.message() +
                      "; check server.state_dir");
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  return {};
}

}  // namespace

std::filesystem::path account_dir(const std::filesystem::path& state_dir,
                                  const std::string& directory_url) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(directory_url.data()), directory_url.size(),
         digest);
  std::string hex = util::hex(std::string_view(reinterpret_cast<const char*>(digest), 8));
  return state_dir / "acme" / hex;
}

util::Result<pki::EvpPkeyPtr> load_or_create_account_key(const std::filesystem::path& state_dir,
                                                         const std::string& directory_url) {
  auto dir = account_dir(state_dir, directory_url);
  auto path = dir / "account.key";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto key = pki::load_private_key(path, std::nullopt);
    if (!key) {
      return util::fail(key.error().prefixed(
          "ACME account key of " + directory_url +
          " (remove the file to make a new account; the old one is then lost)"));
    }
    return key;
  }
  if (auto s = make_private_dir(dir); !s) return util::fail(s.error());
  auto key = pki::generate_key(pki::KeySpec{});
  if (!key) return util::fail(key.error());
  auto pem = pki::private_key_pem(key->get());
  if (!pem) return util::fail(pem.error());
  if (auto s = util::write_file_atomic(path, *pem, 0600); !s) return util::fail(s.error());
  return key;
}

util::Result<std::optional<AccountRecord>> load_account_record(
    const std::filesystem::path& state_dir, const std::string& directory_url) {
  auto path = account_dir(state_dir, directory_url) / "account.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<AccountRecord>();
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxRecord) {
    return util::fail(path.string() +
                      ": unreadable or too large; remove it (the account is "
                      "found again by its key)");
  }
  auto text = util::read_file(path);
  if (!text) return util::fail(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object()) {
    return util::fail(path.string() +
                      ": not an account record; remove it (the account is "
                      "found again by its key)");
  }
  auto text_of = [&](const char* name) {
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  AccountRecord record{text_of("directory"), text_of("url"), text_of("email")};
  if (record.directory != directory_url) {
    return util::fail(path.string() + ": belongs to directory " + record.directory + ", not " +
                      directory_url + "; remove it");
  }
  return std::optional<AccountRecord>(record);
}

util::Status save_account_record(const std::filesystem::path& state_dir,
                                 const AccountRecord& record) {
  auto dir = account_dir(state_dir, record.directory);
  if (auto s = make_private_dir(dir); !s) return util::fail(s.error());
  nlohmann::json json{
      {"directory", record.directory}, {"url", record.url}, {"email", record.email}};
  return util::write_file_atomic(dir / "account.json", json.dump(2) + "\n", 0600);
}

}  // namespace tlsgate::acme
