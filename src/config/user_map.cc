#include "config/user_map.h"

#include <fmt/format.h>

#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::config {

util::Result<UserMap> UserMap::parse(std::string_view text, const std::filesystem::path& file) {
  UserMap map;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    constexpr std::string_view kSpace = " \t\r";
    auto first = line.find_first_not_of(kSpace);
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(kSpace) - first + 1);
    auto split = line.find_last_of(kSpace);
    if (split == std::string_view::npos) {
      return util::fail(fmt::format(
          "{}:{}: \"{}\" has no database user; write IDENTITY DBUSER (DBUSER * for any user)",
          file.string(), line_no, line));
    }
    auto identity = line.substr(0, line.find_last_not_of(kSpace, split) + 1);
    map.entries_[std::string(identity)].insert(std::string(line.substr(split + 1)));
  }
  return map;
}

util::Result<UserMap> UserMap::load(const std::filesystem::path& file) {
  auto text = util::read_file(file);
  if (!text) return util::fail(text.error());
  return parse(*text, file);
}

bool UserMap::allows(std::string_view identity, std::string_view user) const {
  if (identity.empty()) return false;
  auto it = entries_.find(identity);
  if (it == entries_.end()) return false;
  return it->second.count("*") > 0 || it->second.count(std::string(user)) > 0;
}

std::string UserMap::refusal(std::string_view identity, std::string_view user) const {
  if (allows(identity, user)) return "";
  if (identity.empty()) {
    return fmt::format("tlsgate: a client without a certificate identity may not log in as {}",
                       user);
  }
  return fmt::format("tlsgate: certificate identity {} may not log in as {}", identity, user);
}

}  // namespace tlsgate::config
