// MysqlCommandFollower: the client->backend stream of a MySQL session after
// login, followed just far enough to find each COM_CHANGE_USER, so that
// user_map binds the whole session and not only its login.
//
// The stream is MySQL packets: a 3-byte little-endian payload length, a
// sequence id, the payload. A command is a packet with sequence id 0 whose
// first payload byte says which; a payload of exactly 0xFFFFFF bytes goes on
// in the next packet, whatever that packet's sequence id or first byte.
// Packets with a sequence id above 0 (LOAD DATA LOCAL INFILE content, the
// answers of an authentication exchange) are no commands. The server reads
// the stream the same way, so a command it would run is a command here; the
// reverse errs on the safe side: a LOAD DATA packet whose id wrapped to 0 is
// taken for a command.
// Payloads are skipped by their length, never copied; only a change-user's
// user name is kept, bounded by kMaxMysqlUserName.
//
// A compressed stream (CLIENT_COMPRESS, zstd) cannot be followed: a session
// that follows its client withdraws compression during the connection phase
// (MysqlOptions::check_user, starttls/mysql.h).
//
// Pure: bytes in, user names out. One instance per session, on its thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/starttls/mysql_wire.h"

namespace tlsgate::net::starttls {

inline constexpr uint8_t kComChangeUser = 0x11;
// The longest user name looked at: MariaDB allows 128 characters of up to 4
// bytes, MySQL 32. A longer one is refused without asking the user map.
inline constexpr size_t kMaxMysqlUserName = 512;

struct MysqlChangeUser {
  std::string user;       // the name the server will read: up to its NUL or the packet's end
  bool too_long = false;  // more than kMaxMysqlUserName bytes: `user` holds the first ones
};

class MysqlCommandFollower {
 public:
  // Reads `in`, the next bytes the client sent, up to the end of the next
  // COM_CHANGE_USER's user name and returns that name; `in` is left with
  // the bytes after it. nullopt: `in` is used up and held none. The name
  // ends at or before its packet's end, so a caller that checks each name
  // before it forwards the bytes it read decides before the server has the
  // whole command.
  std::optional<MysqlChangeUser> next_change_user(std::string_view& in);

 private:
  enum class State {
    kHeader,   // the next packet's header
    kCommand,  // a command's first payload byte
    kUser,     // a COM_CHANGE_USER's user name
    kSkip,     // the rest of a payload
  };
  MysqlChangeUser take_user(bool too_long);

  State state_ = State::kHeader;
  std::array<unsigned char, kMysqlHeader> header_{};
  size_t header_bytes_ = 0;
  uint32_t left_ = 0;            // payload bytes of the current packet still to come
  bool next_continues_ = false;  // the current packet is 0xFFFFFF long: the next goes on with it
  std::string user_;             // the change-user name read so far
};

}  // namespace tlsgate::net::starttls
