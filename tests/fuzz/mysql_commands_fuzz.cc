// MysqlCommandFollower (net/starttls/mysql_commands.h): the client's stream
// after login, in which each COM_CHANGE_USER is checked against user_map.
//
// Input (fuzz_records.h): the option byte is unused; each record is the next
// read from the client. Properties: every read is used up; a name is never
// longer than kMaxMysqlUserName (too_long exactly when it was cut); and how
// the stream is split into reads changes nothing: the names found read by
// read are those found in the whole stream at once and byte by byte (a
// split that hid a change-user from the gate would let it through).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "net/starttls/mysql_commands.h"

namespace {

using tlsgate::net::starttls::kMaxMysqlUserName;
using tlsgate::net::starttls::MysqlCommandFollower;

// The names found in `in`, "+" before one that was cut.
void follow(MysqlCommandFollower& f, std::string_view in, std::vector<std::string>& names) {
  while (auto change = f.next_change_user(in)) {
    FUZZ_CHECK(change->user.size() <= kMaxMysqlUserName);
    FUZZ_CHECK(!change->too_long || change->user.size() == kMaxMysqlUserName);
    names.push_back((change->too_long ? "+" : "") + change->user);
  }
  FUZZ_CHECK(in.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlsgate::fuzz::Records records(data, size);
  records.options();
  std::string whole;
  std::vector<std::string> by_read;
  MysqlCommandFollower reads;
  for (int n = 0; n < 10000; ++n) {
    auto rec = records.next();
    if (!rec) break;
    whole.append(rec->data);
    follow(reads, rec->data, by_read);
  }
  std::vector<std::string> at_once;
  MysqlCommandFollower once;
  follow(once, whole, at_once);
  FUZZ_CHECK(at_once == by_read);
  std::vector<std::string> by_byte;
  MysqlCommandFollower bytes;
  for (char c : whole) follow(bytes, std::string_view(&c, 1), by_byte);
  FUZZ_CHECK(by_byte == by_read);
  return 0;
}
