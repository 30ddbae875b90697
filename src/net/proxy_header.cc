#include "net/proxy_header.h"

#include <cstdint>

namespace tlsgate::net {
namespace {

void put16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

// A PROXY v2 header's payload and each TLV have 16-bit lengths.
constexpr size_t kMaxLength = 0xffff;

// Appends the TLV when it fits in `room` more bytes of header. A longer value
// is left out, never cut: a cut identity could be someone else's, and a
// length that wrapped would let the value's bytes be read as TLVs of their own.
void put_tlv(std::string& out, unsigned char type, const std::string& value, size_t& room) {
  if (3 + value.size() > room) return;
  room -= 3 + value.size();
  out += static_cast<char>(type);
  put16(out, value.size());
  out += value;
}

template <typename Bytes>
void put_bytes(std::string& out, const Bytes& b) {
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

std::string proxy_v2_header(const ProxyInfo& info) {
  std::string addresses;
  unsigned char family = 0x00;  // UNSPEC: mixed families are sent as LOCAL-less UNSPEC
  const auto& src = info.source.address();
  const auto& dst = info.destination.address();
  if (src.is_v4() && dst.is_v4()) {
    family = 0x11;  // TCP over IPv4
    put_bytes(addresses, src.to_v4().to_bytes());
    put_bytes(addresses, dst.to_v4().to_bytes());
  } else {
    family = 0x21;  // TCP over IPv6 (v4 addresses mapped)
    auto v6 = [](const boost::asio::ip::address& a) {
      return a.is_v6() ? a.to_v6()
                       : boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4());
    };
    put_bytes(addresses, v6(src).to_bytes());
    put_bytes(addresses, v6(dst).to_bytes());
  }
  put16(addresses, info.source.port());
  put16(addresses, info.destination.port());

  // The SSL TLV's head and flags always go, then the identity (what a backend
  // authorises by), then the TLS fields, each only if it still fits.
  size_t room = kMaxLength - addresses.size();
  if (info.tls) room -= 3 + 5;
  std::string identity;
  if (!info.identity.empty()) put_tlv(identity, kPp2TypeTlsgateIdentity, info.identity, room);
  std::string tlvs;
  if (info.tls) {
    std::string ssl;
    ssl += static_cast<char>(0x01 |
                             (info.client_cert ? 0x06 : 0x00));  // CLIENT_SSL, CERT_CONN|CERT_SESS
    ssl.append(3, '\0');                                         // verify (32 bits): 0 = verified
    ssl += static_cast<char>(info.verified ? 0 : 1);
    put_tlv(ssl, kPp2SubtypeSslVersion, info.tls_version, room);
    if (!info.client_cn.empty()) put_tlv(ssl, kPp2SubtypeSslCn, info.client_cn, room);
    put_tlv(ssl, kPp2SubtypeSslCipher, info.cipher, room);
    size_t unlimited = kMaxLength;  // room for it was set aside above
    put_tlv(tlvs, kPp2TypeSsl, ssl, unlimited);
  }
  tlvs += identity;

  static constexpr char kSignature[] = "\r\n\r\n\0\r\nQUIT\n";
  std::string out(kSignature, 12);
  out += static_cast<char>(0x21);  // version 2, PROXY command
  out += static_cast<char>(family);
  put16(out, addresses.size() + tlvs.size());
  return out + addresses + tlvs;
}

}  // namespace tlsgate::net
