// proxy_v2_header (net/proxy_header.h) with arbitrary addresses, ports, TLS
// fields and identities; the bytes it writes must parse per HAProxy's PROXY
// protocol v2 spec (read here by a reader of our own) and carry exactly what
// it was given. Strings may be made long (up to 70000 bytes, past what a
// 16-bit TLV length holds) by repeating fuzzer bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "net/proxy_header.h"

namespace {

using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;
using boost::asio::ip::tcp;
using tlsgate::net::ProxyInfo;

constexpr size_t kMaxPayload = 0xffff;  // the header's 16-bit length field

tcp::endpoint endpoint(FuzzedDataProvider& in) {
  address a;
  if (in.ConsumeBool()) {
    a = address_v4(in.ConsumeIntegral<uint32_t>());
  } else {
    address_v6::bytes_type b{};
    for (auto& byte : b) byte = in.ConsumeIntegral<uint8_t>();
    a = address_v6(b);
  }
  return {a, in.ConsumeIntegral<uint16_t>()};
}

std::string text(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 7) != 0) return in.ConsumeRandomLengthString(64);
  size_t length = in.ConsumeIntegralInRange<size_t>(0, 70000);
  std::string pattern = in.ConsumeRandomLengthString(16);
  if (pattern.empty()) pattern = "x";
  std::string out;
  while (out.size() < length) out += pattern;
  out.resize(length);
  return out;
}

// The spec's reader: what a backend sees.
struct Parsed {
  address source, destination;
  uint16_t source_port = 0, destination_port = 0;
  std::optional<std::string> ssl;       // PP2_TYPE_SSL value
  std::optional<std::string> identity;  // 0xE0 value
};

unsigned be16(std::string_view b, size_t at) {
  return (static_cast<unsigned>(static_cast<uint8_t>(b[at])) << 8) |
         static_cast<uint8_t>(b[at + 1]);
}

// Calls on_tlv(type, value) for each TLV; false when they do not fill `b` exactly.
template <typename F>
bool read_tlvs(std::string_view b, F on_tlv) {
  while (!b.empty()) {
    if (b.size() < 3) return false;
    size_t n = be16(b, 1);
    if (b.size() < 3 + n) return false;
    on_tlv(static_cast<uint8_t>(b[0]), b.substr(3, n));
    b.remove_prefix(3 + n);
  }
  return true;
}

Parsed parse(std::string_view h) {
  static constexpr char kSignature[] = "\r\n\r\n\0\r\nQUIT\n";
  FUZZ_CHECK(h.size() >= 16);
  FUZZ_CHECK(h.substr(0, 12) == std::string_view(kSignature, 12));
  FUZZ_CHECK(static_cast<uint8_t>(h[12]) == 0x21);  // version 2, PROXY
  size_t length = be16(h, 14);
  FUZZ_CHECK(h.size() == 16 + length);  // the length field covers exactly the rest
  std::string_view rest = h.substr(16);
  Parsed p;
  auto family = static_cast<uint8_t>(h[13]);
  size_t address_length = 0;
  if (family == 0x11) {  // TCP over IPv4
    address_length = 12;
    FUZZ_CHECK(rest.size() >= address_length);
    address_v4::bytes_type s, d;
    std::copy_n(rest.data(), 4, s.data());
    std::copy_n(rest.data() + 4, 4, d.data());
    p.source = address_v4(s);
    p.destination = address_v4(d);
  } else {
    FUZZ_CHECK(family == 0x21);  // TCP over IPv6
    address_length = 36;
    FUZZ_CHECK(rest.size() >= address_length);
    address_v6::bytes_type s, d;
    std::copy_n(rest.data(), 16, s.data());
    std::copy_n(rest.data() + 16, 16, d.data());
    p.source = address_v6(s);
    p.destination = address_v6(d);
  }
  p.source_port = static_cast<uint16_t>(be16(rest, address_length - 4));
  p.destination_port = static_cast<uint16_t>(be16(rest, address_length - 2));
  bool whole = read_tlvs(rest.substr(address_length), [&](uint8_t type, std::string_view value) {
    if (type == tlsgate::net::kPp2TypeSsl) {
      FUZZ_CHECK(!p.ssl);  // one of each
      p.ssl = std::string(value);
    } else {
      FUZZ_CHECK(type == tlsgate::net::kPp2TypeTlsgateIdentity && !p.identity);
      p.identity = std::string(value);
    }
  });
  FUZZ_CHECK(whole);
  return p;
}

address as_v6(const address& a) {
  return a.is_v6()
             ? address(a.to_v6())
             : address(boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ProxyInfo info;
  info.source = endpoint(in);
  info.destination = endpoint(in);
  info.tls = in.ConsumeBool();
  info.client_cert = in.ConsumeBool();
  info.verified = info.client_cert && in.ConsumeBool();
  info.tls_version = text(in);
  info.cipher = text(in);
  info.client_cn = text(in);
  info.identity = text(in);

  auto header = tlsgate::net::proxy_v2_header(info);
  FUZZ_CHECK(header.size() <= 16 + kMaxPayload);
  auto p = parse(header);

  bool both_v4 = info.source.address().is_v4() && info.destination.address().is_v4();
  FUZZ_CHECK((static_cast<uint8_t>(header[13]) == 0x11) == both_v4);
  FUZZ_CHECK(p.source == (both_v4 ? info.source.address() : as_v6(info.source.address())));
  FUZZ_CHECK(p.destination ==
             (both_v4 ? info.destination.address() : as_v6(info.destination.address())));
  FUZZ_CHECK(p.source_port == info.source.port());
  FUZZ_CHECK(p.destination_port == info.destination.port());

  // What the header would hold if every field fits in it.
  size_t ssl_length = 5 + 3 + info.tls_version.size() + 3 + info.cipher.size() +
                      (info.client_cn.empty() ? 0 : 3 + info.client_cn.size());
  size_t full = (both_v4 ? 12 : 36) + (info.tls ? 3 + ssl_length : 0) +
                (info.identity.empty() ? 0 : 3 + info.identity.size());
  bool fits = full <= kMaxPayload;

  // The identity is there with its exact value, or (only when it cannot fit) not at all.
  if (!info.identity.empty()) {
    if (fits) FUZZ_CHECK(p.identity.has_value());
    if (p.identity) FUZZ_CHECK(*p.identity == info.identity);
  } else {
    FUZZ_CHECK(!p.identity);
  }

  FUZZ_CHECK(p.ssl.has_value() == info.tls);
  if (!info.tls) return 0;
  const std::string& ssl = *p.ssl;
  FUZZ_CHECK(ssl.size() >= 5);
  FUZZ_CHECK(static_cast<uint8_t>(ssl[0]) == (info.client_cert ? 0x07 : 0x01));
  FUZZ_CHECK(ssl.substr(1, 4) == std::string(3, '\0') + (info.verified ? '\0' : '\1'));
  std::optional<std::string> version, cn, cipher;
  bool whole = read_tlvs(std::string_view(ssl).substr(5), [&](uint8_t type, std::string_view v) {
    std::optional<std::string>* slot = nullptr;
    if (type == tlsgate::net::kPp2SubtypeSslVersion) slot = &version;
    if (type == tlsgate::net::kPp2SubtypeSslCn) slot = &cn;
    if (type == tlsgate::net::kPp2SubtypeSslCipher) slot = &cipher;
    FUZZ_CHECK(slot != nullptr && !*slot);
    *slot = std::string(v);
  });
  FUZZ_CHECK(whole);
  auto check = [fits](const std::optional<std::string>& got, const std::string& want) {
    if (fits && !want.empty()) FUZZ_CHECK(got.has_value());
    if (got) FUZZ_CHECK(*got == want);
  };
  check(version, info.tls_version);
  check(cipher, info.cipher);
  check(cn, info.client_cn);
  if (info.client_cn.empty()) FUZZ_CHECK(!cn);
  return 0;
}
