#include "net/starttls/mysql_wire.h"

#include <algorithm>

namespace tlsgate::net::starttls {

uint32_t mysql_uint(std::string_view b, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

void mysql_set_uint(std::string& b, size_t at, uint32_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string mysql_packet(uint8_t seq, std::string_view payload) {
  std::string out(kMysqlHeader, '\0');
  out.reserve(kMysqlHeader + payload.size());
  mysql_set_uint(out, 0, static_cast<uint32_t>(payload.size()), 3);
  out[3] = static_cast<char>(seq);
  out += payload;
  return out;
}

std::string mysql_err_packet(uint8_t seq, uint16_t code, std::string_view sqlstate,
                             std::string_view message) {
  std::string payload(3, '\0');
  payload[0] = static_cast<char>(kMysqlErr);
  mysql_set_uint(payload, 1, code, 2);
  payload += '#';
  payload += sqlstate.size() == 5 ? sqlstate : std::string_view("HY000");
  payload += message.substr(0, kMaxMysqlNegotiationPacket - payload.size());
  return mysql_packet(seq, payload);
}

std::string mysql_err_message(std::string_view payload) {
  if (payload.size() < 3) return "(no message)";
  size_t at = payload.size() >= 9 && payload[3] == '#' ? 9 : 3;
  return std::string(payload.substr(at));
}

MysqlPacketBuffer::Fill MysqlPacketBuffer::fill(std::string_view& in) {
  while (!in.empty()) {
    size_t n = std::min(bytes_wanted(), in.size());
    buf_.append(in.substr(0, n));
    in.remove_prefix(n);
    if (buf_.size() == kMysqlHeader && n > 0) {
      if (length() > kMaxMysqlNegotiationPacket) return Fill::kTooLong;
      buf_.reserve(kMysqlHeader + length());
    }
    if (has_header() && buf_.size() == kMysqlHeader + length()) {
      return in.empty() ? Fill::kComplete : Fill::kOverrun;
    }
  }
  return Fill::kPartial;
}

size_t MysqlPacketBuffer::bytes_wanted() const {
  if (!has_header()) return kMysqlHeader - buf_.size();
  return kMysqlHeader + length() - buf_.size();
}

std::optional<std::string_view> MysqlReader::bytes(uint64_t n) {
  if (n > left()) return std::nullopt;
  auto out = b_.substr(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

std::optional<uint32_t> MysqlReader::uint(size_t n) {
  auto b = bytes(n);
  if (!b) return std::nullopt;
  return mysql_uint(*b, 0, n);
}

std::optional<std::string_view> MysqlReader::nul_string() {
  size_t end = b_.find('\0', pos_);
  if (end == std::string_view::npos) return std::nullopt;
  auto out = b_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return out;
}

std::optional<uint64_t> MysqlReader::lenenc() {
  auto first = uint(1);
  if (!first || *first == 0xfb || *first == 0xff) return std::nullopt;
  if (*first < 0xfb) return *first;
  if (*first == 0xfc) return uint(2);
  if (*first == 0xfd) return uint(3);
  auto lo = uint(4);
  auto hi = uint(4);
  if (!lo || !hi) return std::nullopt;
  return (static_cast<uint64_t>(*hi) << 32) | *lo;
}

}  // namespace tlsgate::net::starttls
