// The MySQL client/server protocol's packets, as the connection phase
// (starttls/mysql.h) reads and writes them: a 3-byte little-endian payload
// length and a sequence id, then the payload. Assembly of one packet from
// bytes as they arrive, a bounds-checked reader of payload fields, and the
// packets the gate writes itself. Pure functions on bytes, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/secret.h"

namespace tlsgate::net::starttls {

// Capability flags (MySQL protocol documentation, "Capabilities Flags").
inline constexpr uint32_t kClientConnectWithDb = 0x00000008;
inline constexpr uint32_t kClientCompress = 0x00000020;
inline constexpr uint32_t kClientProtocol41 = 0x00000200;
inline constexpr uint32_t kClientSsl = 0x00000800;
inline constexpr uint32_t kClientSecureConnection = 0x00008000;
inline constexpr uint32_t kClientPluginAuth = 0x00080000;
inline constexpr uint32_t kClientConnectAttrs = 0x00100000;
inline constexpr uint32_t kClientPluginAuthLenencData = 0x00200000;
inline constexpr uint32_t kClientZstdCompression = 0x04000000;  // CLIENT_ZSTD_COMPRESSION_ALGORITHM

// MySQL error 3159 ER_SECURE_TRANSPORT_REQUIRED.
inline constexpr uint16_t kErSecureTransportRequired = 3159;
// MySQL error 1043 ER_HANDSHAKE_ERROR ("Bad handshake").
inline constexpr uint16_t kErHandshakeError = 1043;
// MySQL error 1045 ER_ACCESS_DENIED_ERROR (SQLSTATE 28000).
inline constexpr uint16_t kErAccessDenied = 1045;
// MySQL error 1251 ER_NOT_SUPPORTED_AUTH_MODE.
inline constexpr uint16_t kErNotSupportedAuthMode = 1251;

// The largest packet accepted during negotiation.
inline constexpr size_t kMaxMysqlNegotiationPacket = size_t{64} * 1024;

inline constexpr size_t kMysqlHeader = 4;
// The first byte of a server packet's payload during authentication.
inline constexpr uint8_t kMysqlOk = 0x00;
inline constexpr uint8_t kMysqlMoreData = 0x01;
inline constexpr uint8_t kMysqlAuthSwitch = 0xfe;
inline constexpr uint8_t kMysqlErr = 0xff;

// The n-byte (n <= 4) little-endian integer at b[at]; the caller checks the bounds.
uint32_t mysql_uint(std::string_view b, size_t at, size_t n);
// Overwrites the n bytes at b[at] with v, little-endian.
void mysql_set_uint(std::string& b, size_t at, uint32_t v, size_t n);

std::string mysql_packet(uint8_t seq, std::string_view payload);
// A MySQL ERR packet (protocol 4.1 form) with sequence id `seq`.
std::string mysql_err_packet(uint8_t seq, uint16_t code, std::string_view sqlstate,
                             std::string_view message);
// An ERR payload's message, with or without the 4.1 SQLSTATE marker (the
// server omits it before it knows the client's capabilities).
std::string mysql_err_message(std::string_view payload);

// One packet, header included, assembled from bytes as they arrive.
class MysqlPacketBuffer {
 public:
  enum class Fill {
    kPartial,   // more bytes needed: bytes_wanted()
    kComplete,  // payload() is the whole packet
    kTooLong,   // the header declares more than kMaxMysqlNegotiationPacket
    kOverrun,   // `in` held bytes past the packet's end
  };
  // Takes from `in` what the packet still lacks. Its storage is reserved
  // once from the header, so a packet holding a password is never copied by
  // a reallocation into memory that util::wipe() would miss.
  Fill fill(std::string_view& in);
  // How many bytes complete the header, or else the packet (>= 1 until complete).
  size_t bytes_wanted() const;
  bool has_header() const { return buf_.size() >= kMysqlHeader; }
  uint32_t length() const { return mysql_uint(buf_, 0, 3); }     // has_header()
  uint8_t seq() const { return static_cast<uint8_t>(buf_[3]); }  // has_header()
  std::string_view payload() const { return std::string_view(buf_).substr(kMysqlHeader); }
  // Ready for the next packet; the bytes are wiped.
  void clear() { util::wipe(buf_); }

 private:
  std::string buf_;
};

// Reads a payload front to back; every accessor fails instead of reading
// past the end, so a hostile length can never reach memory it does not own.
class MysqlReader {
 public:
  explicit MysqlReader(std::string_view b) : b_(b) {}
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == b_.size(); }
  size_t left() const { return b_.size() - pos_; }

  std::optional<std::string_view> bytes(uint64_t n);
  std::optional<uint32_t> uint(size_t n);
  std::optional<std::string_view> nul_string();
  // A length-encoded integer; 0xfb (NULL) and 0xff are not lengths.
  std::optional<uint64_t> lenenc();

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace tlsgate::net::starttls
