#include "net/starttls/mysql_commands.h"

#include <algorithm>

namespace tlsgate::net::starttls {
namespace {

// A payload this long goes on in the next packet.
constexpr uint32_t kMaxPayload = 0xffffff;

}  // namespace

MysqlChangeUser MysqlCommandFollower::take_user(bool too_long) {
  MysqlChangeUser out{.user = std::move(user_), .too_long = too_long};
  user_.clear();
  state_ = left_ > 0 ? State::kSkip : State::kHeader;
  return out;
}

std::optional<MysqlChangeUser> MysqlCommandFollower::next_change_user(std::string_view& in) {
  while (!in.empty()) {
    switch (state_) {
      case State::kHeader: {
        size_t n = std::min(kMysqlHeader - header_bytes_, in.size());
        std::copy_n(in.data(), n, header_.begin() + header_bytes_);
        header_bytes_ += n;
        in.remove_prefix(n);
        if (header_bytes_ < kMysqlHeader) return std::nullopt;
        header_bytes_ = 0;
        left_ = header_[0] | (header_[1] << 8) | (header_[2] << 16);
        // A continuation is no command, even when its sequence id wrapped to 0.
        bool command = !next_continues_ && header_[3] == 0;
        next_continues_ = left_ == kMaxPayload;
        if (left_ > 0) state_ = command ? State::kCommand : State::kSkip;
        break;
      }
      case State::kCommand: {
        auto command = static_cast<uint8_t>(in.front());
        in.remove_prefix(1);
        --left_;
        if (command == kComChangeUser) {
          state_ = State::kUser;
          // "\x11" alone: the server reads an empty name.
          if (left_ == 0) return take_user(false);
        } else {
          state_ = left_ > 0 ? State::kSkip : State::kHeader;
        }
        break;
      }
      case State::kUser: {
        std::string_view part = in.substr(0, std::min<size_t>(left_, in.size()));
        size_t nul = part.find('\0');
        std::string_view name = part.substr(0, nul);
        size_t room = kMaxMysqlUserName + 1 - user_.size();
        user_.append(name.substr(0, room));
        if (user_.size() > kMaxMysqlUserName) {
          // The rest of the packet is skipped as any payload.
          size_t taken = std::min(name.size(), room);
          in.remove_prefix(taken);
          left_ -= static_cast<uint32_t>(taken);
          user_.resize(kMaxMysqlUserName);
          return take_user(true);
        }
        size_t taken = nul == std::string_view::npos ? part.size() : nul + 1;
        in.remove_prefix(taken);
        left_ -= static_cast<uint32_t>(taken);
        // Without a NUL the server ends the name with the packet.
        if (nul != std::string_view::npos || left_ == 0) return take_user(false);
        break;
      }
      case State::kSkip: {
        size_t n = std::min<size_t>(left_, in.size());
        in.remove_prefix(n);
        left_ -= static_cast<uint32_t>(n);
        if (left_ == 0) state_ = State::kHeader;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace tlsgate::net::starttls
