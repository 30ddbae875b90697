#include "tls/client_hello.h"

#include <cstdio>

namespace tlsgate::tls {
namespace {

void put8(std::string& out, unsigned v) { out.push_back(static_cast<char>(v & 0xff)); }
void put16(std::string& out, unsigned v) {
  put8(out, v >> 8);
  put8(out, v);
}
void put24(std::string& out, size_t v) {
  put8(out, static_cast<unsigned>(v >> 16));
  put16(out, static_cast<unsigned>(v & 0xffff));
}
// A 16-bit length prefix in front of `body`.
std::string vec16(const std::string& body) {
  std::string out;
  put16(out, static_cast<unsigned>(body.size()));
  return out + body;
}
std::string extension(unsigned type, const std::string& body) {
  std::string out;
  put16(out, type);
  return out + vec16(body);
}

uint8_t byte_at(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }
uint16_t u16(std::string_view b, size_t i) {
  return static_cast<uint16_t>((byte_at(b, i) << 8) | byte_at(b, i + 1));
}

bool has(std::string_view name, std::string_view part) {
  return name.find(part) != std::string_view::npos;
}

// Signature algorithms a TLS 1.2 server may sign with, SHA-1 included: the
// question is what the server accepts, not what we would.
constexpr uint16_t kSignatureAlgorithms[] = {0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804,
                                             0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
                                             0x0201, 0x0402, 0x0502, 0x0602, 0x0202};

}  // namespace

std::string version_name(uint16_t version) {
  switch (version) {
    case kSsl3:
      return "SSLv3";
    case kTls10:
      return "TLSv1";
    case kTls11:
      return "TLSv1.1";
    case kTls12:
      return "TLSv1.2";
    case kTls13:
      return "TLSv1.3";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%04X", version);
      return buf;
    }
  }
}

SuiteTraits suite_traits(std::string_view n) {
  SuiteTraits t;
  if (!has(n, "_WITH_")) {
    // TLS 1.3: TLS_AES_128_GCM_SHA256 and friends, all AEAD with (EC)DHE.
    t.kx = "TLS13";
    t.forward_secrecy = true;
    t.aead = true;
    return t;
  }
  std::string_view head = n.substr(0, n.find("_WITH_"));
  if (head.substr(0, 4) == "TLS_") head.remove_prefix(4);
  t.kx = std::string(head);
  t.forward_secrecy = head.substr(0, 5) == "ECDHE" || head.substr(0, 4) == "DHE_";
  t.aead = has(n, "_GCM") || has(n, "_CCM") || has(n, "CHACHA20_POLY1305");
  t.cbc = has(n, "_CBC");
  const char* weakness = nullptr;
  if (has(n, "EXPORT")) {
    weakness = "EXPORT";
  } else if (has(n, "_anon")) {
    weakness = "anonymous";
  } else if (has(n, "WITH_NULL")) {
    weakness = "NULL";
  } else if (has(n, "RC4")) {
    weakness = "RC4";
  } else if (has(n, "3DES")) {
    weakness = "3DES";
  } else if (has(n, "_DES_") || has(n, "DES40")) {
    weakness = "DES";
  } else if (has(n, "RC2")) {
    weakness = "RC2";
  } else if (has(n, "IDEA")) {
    weakness = "IDEA";
  }
  if (weakness != nullptr) {
    t.weak = true;
    t.weakness = weakness;
  }
  return t;
}

const std::vector<SuiteInfo>& known_suites() {
  static const std::vector<SuiteInfo> suites = {
      {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
      {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
      {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
      {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
      {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
      {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
      {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
      {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
      {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
      {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
      {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
      {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
      {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
      {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
      {0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM"},
      {0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM"},
      {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
      {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
      {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
      {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
      {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
      {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
      {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
      {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
      {0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
      {0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
      {0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
      {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
      {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
      {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
      {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
      {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
      {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
      {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
      {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
      {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
      {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
      {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
      {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
      {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
      {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
      {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
      {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
      {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
      {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
      {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
      {0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
      {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
      {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
      {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
      {0xC09D, "TLS_RSA_WITH_AES_256_CCM"},
      {0xC09C, "TLS_RSA_WITH_AES_128_CCM"},
      {0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"},
      {0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"},
      {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
      {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
      {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
      {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
      {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
      {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
      {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
      {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
      {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
      {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
      {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
      {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
      {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
      {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
      {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
      {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
      {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
      {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
      {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
      {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
      {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
      {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
      {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
      {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
      {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
      {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
      {0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
      {0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
      {0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
      {0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
      {0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
      {0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
      {0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
      {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
      {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
      {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
      {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
      {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
      {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
      {0xC015, "TLS_ECDH_anon_WITH_NULL_SHA"},
      {0x003B, "TLS_RSA_WITH_NULL_SHA256"},
      {0x0002, "TLS_RSA_WITH_NULL_SHA"},
      {0x0001, "TLS_RSA_WITH_NULL_MD5"},
  };
  return suites;
}

std::string suite_name(uint16_t code) {
  for (const auto& s : known_suites()) {
    if (s.code == code) return std::string(s.name);
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", code);
  return buf;
}

const std::vector<GroupInfo>& known_groups() {
  static const std::vector<GroupInfo> groups = {
      {0x001D, "X25519", "X25519"},       {0x0017, "P-256", "P-256"},
      {0x0018, "P-384", "P-384"},         {0x0019, "P-521", "P-521"},
      {0x001E, "X448", "X448"},           {0x0100, "ffdhe2048", "ffdhe2048"},
      {0x0101, "ffdhe3072", "ffdhe3072"}, {0x0102, "ffdhe4096", "ffdhe4096"},
      {0x0103, "ffdhe6144", "ffdhe6144"}, {0x0104, "ffdhe8192", "ffdhe8192"},
  };
  return groups;
}

std::string build_client_hello(const HelloOptions& o) {
  std::string body;
  put16(body, o.version);
  std::string random = o.random;
  random.resize(32, '\x5a');
  body += random;
  put8(body, 0);  // no session id
  std::string suites;
  for (uint16_t s : o.suites) put16(suites, s);
  body += vec16(suites);
  put8(body, 1);  // compression methods: null only
  put8(body, 0);

  std::string ext;
  if (!o.server_name.empty()) {
    std::string entry;
    put8(entry, 0);  // host_name
    entry += vec16(o.server_name);
    ext += extension(0x0000, vec16(entry));
  }
  std::string groups;
  if (o.groups.empty()) {
    for (const auto& g : known_groups()) put16(groups, g.code);
  } else {
    for (uint16_t g : o.groups) put16(groups, g);
  }
  ext += extension(0x000a, vec16(groups));
  ext += extension(0x000b, std::string("\x01\x00", 2));  // ec_point_formats: uncompressed
  std::string sigalgs;
  for (uint16_t a : kSignatureAlgorithms) put16(sigalgs, a);
  if (o.version >= kTls12) ext += extension(0x000d, vec16(sigalgs));
  ext += extension(0xff01, std::string("\x00", 1));  // renegotiation_info, empty
  if (o.version > kSsl3) body += vec16(ext);

  std::string handshake;
  put8(handshake, 1);  // client_hello
  put24(handshake, body.size());
  handshake += body;
  std::string record;
  put8(record, 22);  // handshake
  put16(record, o.version == kSsl3 ? kSsl3 : kTls10);
  put16(record, static_cast<unsigned>(handshake.size()));
  return record + handshake;
}

ServerHelloResult parse_server_hello(std::string_view bytes) {
  ServerHelloResult r;
  auto malformed = [&r](std::string why) {
    r.kind = ServerHelloResult::Kind::kMalformed;
    r.error = std::move(why);
    return r;
  };
  if (bytes.size() > kMaxServerHelloBytes) bytes = bytes.substr(0, kMaxServerHelloBytes);
  if (!bytes.empty() && byte_at(bytes, 0) != 21 && byte_at(bytes, 0) != 22) {
    return malformed("the answer is not TLS");
  }
  // Handshake bytes gathered from consecutive records, until the first
  // message (the ServerHello) is whole: it may span records.
  std::string handshake;
  size_t at = 0;
  size_t len = 0;
  while (true) {
    if (handshake.size() >= 4) {
      len = (size_t{byte_at(handshake, 1)} << 16) | u16(handshake, 2);
      if (byte_at(handshake, 0) != 2) {
        return malformed("the server's first message is not a ServerHello");
      }
      if (len > 65535) return malformed("a ServerHello longer than 64 KiB");
      if (handshake.size() >= 4 + len) break;
    }
    if (at + 5 > bytes.size() || at + 5 + u16(bytes, at + 3) > bytes.size()) {
      if (bytes.size() >= kMaxServerHelloBytes) return malformed("the ServerHello never ends");
      return r;  // kNeedMore
    }
    uint8_t type = byte_at(bytes, at);
    if ((u16(bytes, at + 1) >> 8) != 3) return malformed("the answer is not TLS (record version)");
    size_t rec_len = u16(bytes, at + 3);
    if (rec_len > 16384 + 2048) return malformed("a TLS record longer than the protocol allows");
    std::string_view payload = bytes.substr(at + 5, rec_len);
    if (type == 21) {  // alert
      if (rec_len < 2) return malformed("a truncated alert");
      r.kind = ServerHelloResult::Kind::kAlert;
      r.alert = byte_at(payload, 1);
      return r;
    }
    if (type != 22) return malformed("the ServerHello is interrupted by a non-handshake record");
    handshake += payload;
    at += 5 + rec_len;
  }
  std::string_view h = std::string_view(handshake).substr(4, len);
  // version(2) random(32) session_id<0..32> suite(2) compression(1) [extensions]
  if (h.size() < 2 + 32 + 1) return malformed("a truncated ServerHello");
  r.version = u16(h, 0);
  size_t p = 34;
  size_t sid = byte_at(h, p);
  if (sid > 32) return malformed("a ServerHello session id longer than 32 bytes");
  p += 1 + sid;
  if (p + 3 > h.size()) return malformed("a truncated ServerHello");
  r.suite = u16(h, p);
  p += 3;
  if (p + 2 <= h.size()) {
    size_t ext_len = u16(h, p);
    p += 2;
    if (p + ext_len > h.size()) return malformed("ServerHello extensions run past the message");
    size_t end = p + ext_len;
    while (p + 4 <= end) {
      uint16_t type = u16(h, p);
      size_t elen = u16(h, p + 2);
      p += 4;
      if (p + elen > end) return malformed("a ServerHello extension runs past the message");
      if (type == 0x002b && elen == 2) r.version = u16(h, p);  // supported_versions
      p += elen;
    }
  }
  r.kind = ServerHelloResult::Kind::kServerHello;
  return r;
}

}  // namespace tlsgate::tls
