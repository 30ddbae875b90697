#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "net/starttls/mysql.h"
#include "pki/handles.h"

namespace tlsgate::net::starttls {
namespace {

using Next = MysqlStep::Next;
using config::TlsLevel;

// Builders for the packets of the MySQL Client/Server protocol's connection
// phase, field by field as the protocol documentation lists them.

std::string le(uint32_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string pkt(uint8_t seq, std::string_view payload) {
  return le(static_cast<uint32_t>(payload.size()), 3) + static_cast<char>(seq) +
         std::string(payload);
}

size_t declared_length(std::string_view b) {
  size_t len = 0;
  for (size_t i = 0; i < 3; ++i) len |= size_t{static_cast<uint8_t>(b[i])} << (8 * i);
  return len;
}

std::string nul(std::string_view s) { return std::string(s) + '\0'; }

const std::string kScramble = "abcdefgh0123456789AB";  // 20 bytes, as a server makes them
const std::string kSha2 = "caching_sha2_password";
const std::string kNative = "mysql_native_password";

// CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_TRANSACTIONS | MULTI_STATEMENTS |
// MULTI_RESULTS | DEPRECATE_EOF, plus the bits the gate reads.
constexpr uint32_t kClientCaps = 0x1 | 0x4 | kClientProtocol41 | 0x2000 | kClientSecureConnection |
                                 0x10000 | 0x20000 | kClientPluginAuth | kClientConnectAttrs |
                                 kClientPluginAuthLenencData | 0x01000000;
// A MySQL 8 server's capabilities without CLIENT_SSL (TLS not set up on it).
constexpr uint32_t kServerCaps = 0xdfffffff & ~kClientSsl;
// What a user check takes out of the greeting and the HandshakeResponse.
constexpr uint32_t kCompression = kClientCompress | kClientZstdCompression;
static_assert((kServerCaps & kCompression) == kCompression, "the server offers both");

std::string greeting(uint32_t caps = kServerCaps, const std::string& plugin = kSha2,
                     const std::string& scramble = kScramble) {
  std::string p = "\x0a" + nul("8.0.36");
  p += le(0x2a, 4);  // thread id
  p += scramble.substr(0, 8) + '\0';
  p += le(caps & 0xffff, 2);
  p += '\xff';  // charset
  p += le(0x0002, 2);
  p += le(caps >> 16, 2);
  p += static_cast<char>(scramble.size() + 1);
  // Reserved; MariaDB keeps its extended capabilities in the last 4 bytes.
  p += std::string(6, '\0') + std::string("\x1d\0\0\0", 4);
  p += nul(scramble.substr(8));
  p += nul(plugin);
  return pkt(0, p);
}

std::string fixed_part(uint32_t caps) {
  return le(caps, 4) + le(0x01000000, 4) + '\x2d' + std::string(23, '\0');
}

std::string ssl_request(uint32_t caps = kClientCaps) {
  return pkt(1, fixed_part(caps | kClientSsl));
}

struct Response {
  uint32_t caps = kClientCaps;
  std::string user = "alice";
  std::string auth = std::string(32, '\x5a');  // a caching_sha2 scramble response
  std::string db = "shop";
  std::string plugin = kSha2;
  std::string attrs = "\x0c_client_name\x0alibmysql";

  std::string payload() const {
    std::string p = fixed_part(caps) + nul(user);
    if (caps & (kClientPluginAuthLenencData | kClientSecureConnection)) {
      p += static_cast<char>(auth.size()) + auth;
    } else {
      p += nul(auth);
    }
    if (caps & kClientConnectWithDb) p += nul(db);
    if (caps & kClientPluginAuth) p += nul(plugin);
    if (caps & kClientConnectAttrs) p += static_cast<char>(attrs.size()) + attrs;
    return p;
  }
  std::string packet(uint8_t seq) const { return pkt(seq, payload()); }
};

Response with_ssl(Response r) {
  r.caps |= kClientSsl;
  return r;
}

std::string ok_payload() { return std::string("\x00\x00\x00\x02\x00\x00\x00", 7); }
std::string err_payload(uint16_t code, std::string_view state, std::string_view msg) {
  return "\xff" + le(code, 2) + "#" + std::string(state) + std::string(msg);
}
std::string auth_switch(const std::string& plugin, const std::string& data) {
  return "\xfe" + nul(plugin) + data;
}
std::string more_data(std::string_view data) { return "\x01" + std::string(data); }

// RSA material for the caching_sha2 exchange, minted once per run.
EVP_PKEY* rsa_key() {
  static pki::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  return key.get();
}

std::string public_pem() {
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), rsa_key()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string rsa_oaep_decrypt(std::string_view cipher) {
  pki::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa_key(), nullptr));
  EXPECT_GT(EVP_PKEY_decrypt_init(ctx.get()), 0);
  EXPECT_GT(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 0);
  const auto* in = reinterpret_cast<const unsigned char*>(cipher.data());
  size_t len = 0;
  EXPECT_GT(EVP_PKEY_decrypt(ctx.get(), nullptr, &len, in, cipher.size()), 0);
  std::string out(len, '\0');
  EXPECT_GT(EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in,
                             cipher.size()),
            0);
  out.resize(len);
  return out;
}

std::string unxor(std::string s, std::string_view scramble) {
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(s[i] ^ scramble[i % 20]);
  return s;
}

// Feeds a packet whole, or one byte at a time checking that the machine asks
// for exactly the bytes that complete the packet and answers nothing early.
class Driver {
 public:
  Driver(MysqlOptions options, bool bytewise) : n_(std::move(options)), bytewise_(bytewise) {}

  MysqlNegotiation& n() { return n_; }
  MysqlStep start() { return n_.start(); }
  MysqlStep backend(const std::string& bytes) { return feed(bytes, false); }
  MysqlStep client(const std::string& bytes) { return feed(bytes, true); }
  const std::string& all_to_backend() const { return all_to_backend_; }

 private:
  MysqlStep feed(const std::string& bytes, bool from_client) {
    MysqlStep s;
    if (!bytewise_) {
      s = from_client ? n_.from_client(bytes) : n_.from_backend(bytes);
    } else {
      bool one_packet = bytes.size() >= 4 && bytes.size() == 4 + declared_length(bytes);
      for (size_t i = 0; i < bytes.size(); ++i) {
        size_t wanted = from_client ? n_.client_bytes_wanted() : n_.backend_bytes_wanted();
        if (one_packet) {
          EXPECT_EQ(wanted, i < 4 ? 4 - i : bytes.size() - i) << "at byte " << i;
        }
        std::string_view one(&bytes[i], 1);
        s = from_client ? n_.from_client(one) : n_.from_backend(one);
        if (s.next == Next::kClose) break;
        if (i + 1 < bytes.size()) {
          EXPECT_EQ(s.next, from_client ? Next::kReadClient : Next::kReadBackend);
          EXPECT_TRUE(s.to_client.empty() && s.to_backend.empty()) << "at byte " << i;
        }
      }
    }
    all_to_backend_ += s.to_backend;
    return s;
  }

  MysqlNegotiation n_;
  bool bytewise_;
  std::string all_to_backend_;
};

MysqlOptions options(TlsLevel level = TlsLevel::kRequired, bool upstream_tls = false) {
  MysqlOptions o;
  o.level = level;
  o.upstream_tls = upstream_tls;
  return o;
}

class MysqlFlow : public testing::TestWithParam<bool> {
 protected:
  bool bytewise() const { return GetParam(); }

  // Greeting, SSL Request and TLS; leaves the machine awaiting the
  // HandshakeResponse inside TLS.
  // `withdrawn`: the capabilities the greeting loses on the way (kCompression
  // under a user check).
  void open_tls(Driver& d, uint32_t server_caps = kServerCaps, uint32_t withdrawn = 0) {
    EXPECT_EQ(d.start().next, Next::kReadBackend);
    auto s = d.backend(greeting(server_caps));
    EXPECT_EQ(s.to_client, greeting((server_caps | kClientSsl) & ~withdrawn));
    EXPECT_EQ(s.next, Next::kReadClient);
    s = d.client(ssl_request());
    EXPECT_EQ(s.next, Next::kClientTls);
    EXPECT_TRUE(s.to_client.empty() && s.to_backend.empty());
    s = d.n().client_tls_ready();
    EXPECT_EQ(s.next, Next::kReadClient);
    EXPECT_TRUE(d.n().client_on_tls());
  }

  // Everything up to the backend's first answer to the relayed response.
  void login_over_tls(Driver& d, const Response& r = Response{}) {
    open_tls(d);
    auto s = d.client(with_ssl(r).packet(2));
    EXPECT_EQ(s.to_backend, r.packet(1));
    EXPECT_EQ(s.next, Next::kReadBackend);
    EXPECT_EQ(d.n().user(), r.user);
  }
};

INSTANTIATE_TEST_SUITE_P(Feeding, MysqlFlow, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& feeding) {
                           return feeding.param ? "ByteByByte" : "AllAtOnce";
                         });

TEST(MysqlErrPacket, HasHeaderMarkerAndSqlstate) {
  EXPECT_EQ(mysql_err_packet(2, 1045, "28000", "no"),
            std::string("\x0b\x00\x00\x02\xff\x15\x04#28000no", 15));
}

TEST_P(MysqlFlow, GreetingGetsClientSslAndKeepsEverythingElse) {
  Driver d(options(), bytewise());
  d.start();
  auto s = d.backend(greeting());
  std::string expected = greeting();
  expected[4 + 1 + 7 + 4 + 8 + 1 + 1] |= 0x08;  // CLIENT_SSL is bit 11 of the lower caps
  EXPECT_EQ(s.to_client, expected);
  EXPECT_EQ(s.to_client, greeting(kServerCaps | kClientSsl));
  EXPECT_TRUE(s.to_backend.empty());
  EXPECT_EQ(s.next, Next::kReadClient);
}

TEST_P(MysqlFlow, GreetingThatAlreadyOffersSslIsForwardedAsIs) {
  Driver d(options(), bytewise());
  auto s = d.backend(greeting(kServerCaps | kClientSsl, "mysql_native_password"));
  EXPECT_EQ(s.to_client, greeting(kServerCaps | kClientSsl, "mysql_native_password"));
}

TEST_P(MysqlFlow, DisabledClearsClientSslAndRelays) {
  Driver d(options(TlsLevel::kDisabled), bytewise());
  auto s = d.backend(greeting(kServerCaps | kClientSsl));
  EXPECT_EQ(s.to_client, greeting(kServerCaps));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, DisabledWithAUserCheckStillChecksTheUser) {
  MysqlOptions o = options(TlsLevel::kDisabled);
  o.check_user = [](std::string_view) { return std::string(); };
  Driver d(std::move(o), bytewise());
  auto s = d.backend(greeting(kServerCaps | kClientSsl));
  EXPECT_EQ(s.to_client, greeting(kServerCaps & ~kCompression));
  EXPECT_EQ(s.next, Next::kReadClient);
  s = d.client(Response{}.packet(1));
  EXPECT_EQ(s.to_backend, Response{}.packet(1));
  EXPECT_EQ(s.next, Next::kReadBackend);
}

TEST(MysqlNegotiation, SslRequestUnderDisabledIsRefused) {
  MysqlOptions o = options(TlsLevel::kDisabled);
  o.check_user = [](std::string_view) { return std::string(); };
  MysqlNegotiation n(std::move(o));
  n.start();
  n.from_backend(greeting());
  auto s = n.from_client(ssl_request());
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.to_client,
            mysql_err_packet(2, 1043, "08S01", "tlsgate: TLS is disabled on this port"));
}

TEST_P(MysqlFlow, ErrGreetingIsForwardedUnchangedThenClose) {
  Driver d(options(), bytewise());
  std::string err = pkt(0, "\xff" + le(1040, 2) + "Too many connections");
  auto s = d.backend(err);
  EXPECT_EQ(s.to_client, err);
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason, "backend refused the connection before its greeting: Too many connections");
}

TEST(MysqlNegotiation, WantedNeverReachesPastTheSslRequest) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  std::string req = ssl_request();
  ASSERT_EQ(req.size(), 36u);
  EXPECT_EQ(n.client_bytes_wanted(), 4u);
  EXPECT_EQ(n.from_client(req.substr(0, 4)).next, Next::kReadClient);
  EXPECT_EQ(n.client_bytes_wanted(), 32u);
  EXPECT_EQ(n.from_client(req.substr(4, 31)).next, Next::kReadClient);
  EXPECT_EQ(n.client_bytes_wanted(), 1u);
  auto s = n.from_client(req.substr(35));
  EXPECT_EQ(s.next, Next::kClientTls);
  EXPECT_EQ(n.client_bytes_wanted(), 4u);
}

TEST(MysqlNegotiation, BytesPastTheSslRequestAreRefused) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  auto s = n.from_client(ssl_request() + "\x16\x03\x01");
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "mysql negotiation: client bytes fed past the end of a packet (read at most "
            "client_bytes_wanted())");
}

TEST_P(MysqlFlow, ResponseInsideTlsIsRelayedWithClientSslClearedAsPacketOne) {
  Driver d(options(), bytewise());
  login_over_tls(d);
  auto s = d.backend(pkt(2, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(3, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, PlaintextResponseUnderRequiredGetsErr3159) {
  Driver d(options(), bytewise());
  d.backend(greeting());
  auto s = d.client(Response{}.packet(1));
  std::string msg =
      "tlsgate: connections using insecure transport are prohibited; connect with TLS (mysql "
      "--ssl-mode=REQUIRED, mariadb --ssl)";
  std::string payload = std::string("\xff\x57\x0c#HY000", 9) + msg;
  EXPECT_EQ(s.to_client, le(static_cast<uint32_t>(payload.size()), 3) + '\x02' + payload);
  EXPECT_TRUE(d.all_to_backend().empty());
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "client sent a plaintext HandshakeResponse to a TLS-only port; answered with ERR 3159");
  EXPECT_TRUE(s.refused_plaintext);
}

TEST(MysqlRefuse, NumbersTheErrForWhereTheClientIs) {
  std::string payload = std::string("\xff\x13\x04#08S01", 9) + "gone";
  std::string header = le(static_cast<uint32_t>(payload.size()), 3);
  MysqlNegotiation before(options());
  EXPECT_EQ(before.refuse(kErHandshakeError, "08S01", "gone"), header + '\x00' + payload)
      << "no greeting yet: the ERR takes its place";
  Driver d(options(), false);
  d.backend(greeting());
  EXPECT_EQ(d.n().refuse(kErHandshakeError, "08S01", "gone"), header + '\x01' + payload)
      << "after the greeting (id 0) the client awaits id 1";
}

TEST_P(MysqlFlow, PlaintextResponseUnderOptionalIsRelayed) {
  Driver d(options(TlsLevel::kOptional), bytewise());
  d.backend(greeting());
  Response r;
  r.plugin = kNative;
  r.auth = std::string(20, '\x11');
  auto s = d.client(r.packet(1));
  EXPECT_EQ(s.to_backend, r.packet(1));
  EXPECT_FALSE(d.n().client_on_tls());
  s = d.backend(pkt(2, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(2, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, UserMapRefusalGetsErr1045AndNothingReachesTheBackend) {
  MysqlOptions o = options();
  std::string seen;
  o.check_user = [&seen](std::string_view user) {
    seen = user;
    return std::string("tlsgate: identity CN=bob may not log in as alice");
  };
  Driver d(std::move(o), bytewise());
  open_tls(d, kServerCaps, kCompression);
  auto s = d.client(with_ssl(Response{}).packet(2));
  EXPECT_EQ(seen, "alice");
  EXPECT_EQ(s.to_client,
            mysql_err_packet(3, 1045, "28000", "tlsgate: identity CN=bob may not log in as alice"));
  EXPECT_TRUE(d.all_to_backend().empty());
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "login as MySQL user \"alice\" refused: tlsgate: identity CN=bob may not log in as "
            "alice");
}

// After login the session follows the client's commands for COM_CHANGE_USER
// (mysql_commands.h), which a compressed stream would hide: neither side
// may turn compression on, even a client that asks for it unoffered.
TEST_P(MysqlFlow, UserCheckWithdrawsCompressionFromBothSides) {
  MysqlOptions o = options();
  o.check_user = [](std::string_view) { return std::string(); };
  Driver d(std::move(o), bytewise());
  open_tls(d, kServerCaps, kCompression);
  Response r;
  r.caps |= kCompression;
  auto s = d.client(with_ssl(r).packet(2));
  Response forwarded = r;
  forwarded.caps &= ~kCompression;
  EXPECT_EQ(s.to_backend, forwarded.packet(1));
  EXPECT_EQ(s.next, Next::kReadBackend);
}

TEST_P(MysqlFlow, WithoutUserCheckCompressionIsLeftToTheEnds) {
  Driver d(options(), bytewise());
  open_tls(d);  // the greeting keeps both compression bits
  Response r;
  r.caps |= kClientCompress;
  auto s = d.client(with_ssl(r).packet(2));
  EXPECT_EQ(s.to_backend, r.packet(1));
}

TEST_P(MysqlFlow, UserCheckWithUpstreamTlsWithdrawsCompressionFromTheSslRequestToo) {
  MysqlOptions o = options(TlsLevel::kRequired, true);
  o.check_user = [](std::string_view) { return std::string(); };
  Driver d(std::move(o), bytewise());
  open_tls(d, kServerCaps | kClientSsl, kCompression);
  Response r;
  r.caps |= kCompression;
  auto s = d.client(with_ssl(r).packet(2));
  Response forwarded = with_ssl(r);
  forwarded.caps &= ~kCompression;
  EXPECT_EQ(s.to_backend, pkt(1, fixed_part(forwarded.caps)));
  EXPECT_EQ(s.next, Next::kBackendTls);
  s = d.n().backend_tls_ready();
  EXPECT_EQ(s.to_backend, forwarded.packet(2));
}

TEST_P(MysqlFlow, NativePasswordOkRelays) {
  Driver d(options(), bytewise());
  Response r;
  r.plugin = kNative;
  r.auth = std::string(20, '\x33');
  login_over_tls(d, r);
  auto s = d.backend(pkt(2, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(3, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, BackendErrClosesWithItsMessage) {
  Driver d(options(), bytewise());
  login_over_tls(d);
  std::string err = err_payload(1045, "28000", "Access denied for user 'alice'@'10.0.0.5'");
  auto s = d.backend(pkt(2, err));
  EXPECT_EQ(s.to_client, pkt(3, err));
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "backend refused login for user alice: Access denied for user 'alice'@'10.0.0.5'");
}

TEST_P(MysqlFlow, Ed25519AuthSwitchIsRenumberedBothWays) {
  Driver d(options(), bytewise());
  Response r;
  r.plugin = kNative;
  login_over_tls(d, r);
  std::string nonce(32, '\0');
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<char>(0xa0 + i);
  auto s = d.backend(pkt(2, auth_switch("client_ed25519", nonce)));
  EXPECT_EQ(s.to_client, pkt(3, auth_switch("client_ed25519", nonce)));
  EXPECT_EQ(s.next, Next::kReadClient);
  std::string signature(64, '\x7e');
  s = d.client(pkt(4, signature));
  EXPECT_EQ(s.to_backend, pkt(3, signature));
  EXPECT_EQ(s.next, Next::kReadBackend);
  s = d.backend(pkt(4, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(5, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, CachingSha2FastAuth) {
  Driver d(options(), bytewise());
  login_over_tls(d);
  auto s = d.backend(pkt(2, more_data("\x03")));
  EXPECT_EQ(s.to_client, pkt(3, more_data("\x03")));
  EXPECT_EQ(s.next, Next::kReadBackend);
  s = d.backend(pkt(3, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(4, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

// The trap: a TLS client answers "full authentication" with its clear
// password; the backend link is plaintext, so the gate does the RSA exchange.
TEST_P(MysqlFlow, CachingSha2FullAuthOverPlaintextBackendEncryptsForTheClient) {
  Driver d(options(), bytewise());
  login_over_tls(d);
  auto s = d.backend(pkt(2, more_data("\x04")));
  EXPECT_EQ(s.to_client, pkt(3, more_data("\x04")));
  EXPECT_EQ(s.next, Next::kReadClient);

  const std::string password = "s3cret-Pa55word";
  s = d.client(pkt(4, nul(password)));
  EXPECT_TRUE(s.to_client.empty());
  EXPECT_EQ(s.to_backend, pkt(3, "\x02"));
  EXPECT_EQ(s.next, Next::kReadBackend);

  s = d.backend(pkt(4, more_data(public_pem())));
  EXPECT_TRUE(s.to_client.empty());
  ASSERT_EQ(s.to_backend.size(), 4u + 256u);
  EXPECT_EQ(s.to_backend.substr(0, 4), le(256, 3) + '\x05');
  EXPECT_EQ(unxor(rsa_oaep_decrypt(s.to_backend.substr(4)), kScramble), nul(password));
  EXPECT_EQ(s.next, Next::kReadBackend);

  s = d.backend(pkt(6, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(5, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
  EXPECT_EQ(d.all_to_backend().find(password), std::string::npos);
}

TEST_P(MysqlFlow, CachingSha2FullAuthWithUpstreamTlsRelaysTheClearPassword) {
  Driver d(options(TlsLevel::kRequired, true), bytewise());
  open_tls(d, kServerCaps | kClientSsl);
  d.client(with_ssl(Response{}).packet(2));
  d.n().backend_tls_ready();
  auto s = d.backend(pkt(3, more_data("\x04")));
  EXPECT_EQ(s.to_client, pkt(3, more_data("\x04")));
  s = d.client(pkt(4, nul("pw")));
  EXPECT_EQ(s.to_backend, pkt(4, nul("pw")));
  s = d.backend(pkt(5, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(5, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST_P(MysqlFlow, CachingSha2FullAuthOfPlaintextClientIsRelayed) {
  Driver d(options(TlsLevel::kOptional), bytewise());
  d.backend(greeting());
  d.client(Response{}.packet(1));
  auto s = d.backend(pkt(2, more_data("\x04")));
  EXPECT_EQ(s.to_client, pkt(2, more_data("\x04")));
  EXPECT_EQ(s.next, Next::kReadClient);
  s = d.client(pkt(3, "\x02"));
  EXPECT_EQ(s.to_backend, pkt(3, "\x02"));
  s = d.backend(pkt(4, more_data(public_pem())));
  EXPECT_EQ(s.to_client, pkt(4, more_data(public_pem())));
  EXPECT_EQ(s.next, Next::kReadClient);
  std::string cipher(256, '\x42');
  s = d.client(pkt(5, cipher));
  EXPECT_EQ(s.to_backend, pkt(5, cipher));
}

TEST_P(MysqlFlow, Sha256ClearPasswordInResponseBecomesAKeyRequest) {
  Driver d(options(), bytewise());
  open_tls(d);
  Response r;
  r.plugin = "sha256_password";
  r.auth = nul("hunter2");
  auto s = d.client(with_ssl(r).packet(2));
  Response relayed = r;
  relayed.auth = "\x01";
  EXPECT_EQ(s.to_backend, relayed.packet(1));
  s = d.backend(pkt(2, more_data(public_pem())));
  ASSERT_EQ(s.to_backend.size(), 4u + 256u);
  EXPECT_EQ(s.to_backend[3], '\x03');
  EXPECT_EQ(unxor(rsa_oaep_decrypt(s.to_backend.substr(4)), kScramble), nul("hunter2"));
  s = d.backend(pkt(4, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(3, ok_payload()));
  EXPECT_EQ(d.all_to_backend().find("hunter2"), std::string::npos);
}

TEST_P(MysqlFlow, Sha256AfterAuthSwitchUsesTheNewScramble) {
  Driver d(options(), bytewise());
  login_over_tls(d);
  std::string scramble = "ZYXWVUTSRQponmlkjihg";
  auto s = d.backend(pkt(2, auth_switch("sha256_password", nul(scramble))));
  EXPECT_EQ(s.to_client, pkt(3, auth_switch("sha256_password", nul(scramble))));
  s = d.client(pkt(4, nul("hunter2")));
  EXPECT_EQ(s.to_backend, pkt(3, "\x01"));
  s = d.backend(pkt(4, more_data(public_pem())));
  ASSERT_EQ(s.to_backend.size(), 4u + 256u);
  EXPECT_EQ(unxor(rsa_oaep_decrypt(s.to_backend.substr(4)), scramble), nul("hunter2"));
  s = d.backend(pkt(6, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(5, ok_payload()));
  EXPECT_EQ(d.all_to_backend().find("hunter2"), std::string::npos);
}

TEST_P(MysqlFlow, UpstreamTlsSendsSslRequestThenResponseAsPacketTwo) {
  Driver d(options(TlsLevel::kRequired, true), bytewise());
  d.start();
  auto s = d.backend(greeting(kServerCaps | kClientSsl));
  EXPECT_EQ(s.to_client, greeting(kServerCaps | kClientSsl));
  d.client(ssl_request());
  d.n().client_tls_ready();
  Response r = with_ssl(Response{});
  s = d.client(r.packet(2));
  EXPECT_EQ(s.to_backend, pkt(1, fixed_part(r.caps)));
  EXPECT_TRUE(s.to_client.empty());
  EXPECT_EQ(s.next, Next::kBackendTls);
  s = d.n().backend_tls_ready();
  EXPECT_EQ(s.to_backend, r.packet(2));
  EXPECT_EQ(s.next, Next::kReadBackend);
  s = d.backend(pkt(3, ok_payload()));
  EXPECT_EQ(s.to_client, pkt(3, ok_payload()));
  EXPECT_EQ(s.next, Next::kRelay);
}

TEST(MysqlNegotiation, UpstreamTlsToABackendWithoutTlsIsRefused) {
  MysqlNegotiation n(options(TlsLevel::kRequired, true));
  n.start();
  auto s = n.from_backend(greeting(kServerCaps));
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.to_client,
            mysql_err_packet(0, 1043, "08S01", "tlsgate: the backend does not offer TLS"));
  EXPECT_NE(s.reason.find("no CLIENT_SSL in its greeting"), std::string::npos);
}

TEST(MysqlNegotiation, MalformedBackendPacketsCloseWithAReason) {
  struct Case {
    std::string name;
    std::vector<std::string> backend;  // fed after start(), the last must close
    std::string reason;
  };
  std::string greeting_payload = greeting().substr(4);
  std::vector<Case> cases = {
      {"protocol 9",
       {pkt(0, "\x09" + greeting_payload.substr(1))},
       "backend greeting has protocol version 9, not 10; is upstream_address a MySQL/MariaDB "
       "server?"},
      {"oversize",
       {std::string("\xff\xff\xff\0", 4)},
       "backend sent a 16777215-byte packet during the MySQL handshake; the limit is 65536"},
      {"version without NUL",
       {pkt(0,
            "\x0a"
            "8.0.36")},
       "malformed backend greeting: server version is not NUL-terminated"},
      {"truncated",
       {pkt(0, greeting_payload.substr(0, 30))},
       "malformed backend greeting: truncated in the reserved bytes"},
      {"empty", {pkt(0, "")}, "backend sent an empty greeting"},
  };
  for (const auto& c : cases) {
    MysqlNegotiation n(options());
    n.start();
    MysqlStep s;
    for (const auto& b : c.backend) s = n.from_backend(b);
    EXPECT_EQ(s.next, Next::kClose) << c.name;
    EXPECT_EQ(s.reason, c.reason) << c.name;
  }
}

TEST(MysqlNegotiation, MalformedClientPacketsCloseWithAReason) {
  struct Case {
    std::string name;
    std::string client;
    std::string reason;
  };
  Response r = with_ssl(Response{});
  std::string fixed = fixed_part(r.caps);
  Response old = r;
  old.caps &= ~kClientProtocol41;
  Response lenenc_past_end = r;
  lenenc_past_end.attrs.clear();
  std::vector<Case> cases = {
      {"oversize", "\xff\xff\xff\x02",
       "client sent a 16777215-byte packet during the MySQL handshake; the limit is 65536"},
      {"short", pkt(2, fixed.substr(0, 20)),
       "malformed HandshakeResponse: 20 bytes, shorter than its 32-byte header"},
      {"user without NUL", pkt(2, fixed + "alice"),
       "malformed HandshakeResponse: user name is not NUL-terminated"},
      {"lenenc past end", pkt(2, fixed + nul("alice") + "\xfc\xff\xff" + "abc"),
       "malformed HandshakeResponse: auth response runs past the end"},
      {"lenenc null", pkt(2, fixed + nul("alice") + "\xfb"),
       "malformed HandshakeResponse: bad length of the auth response"},
      {"truncated lenenc", pkt(2, fixed + nul("alice") + "\xfe\x01"),
       "malformed HandshakeResponse: bad length of the auth response"},
      {"db without NUL",
       pkt(2, fixed_part(r.caps | kClientConnectWithDb) + nul("alice") + '\0' + "shop"),
       "malformed HandshakeResponse: database name is not NUL-terminated"},
      {"attrs past end", pkt(2, fixed + nul("alice") + '\0' + nul(kSha2) + "\x40" + "ab"),
       "malformed HandshakeResponse: connection attributes run past the end"},
      {"not 4.1", old.packet(2),
       "client does not speak protocol 4.1 (no CLIENT_PROTOCOL_41); refused"},
      {"second SSL Request", pkt(2, fixed), "client sent a second SSL Request inside TLS"},
  };
  for (const auto& c : cases) {
    MysqlNegotiation n(options());
    n.start();
    n.from_backend(greeting());
    n.from_client(ssl_request());
    n.client_tls_ready();
    auto s = n.from_client(c.client);
    EXPECT_EQ(s.next, Next::kClose) << c.name;
    EXPECT_EQ(s.reason, c.reason) << c.name;
    EXPECT_EQ(s.to_client.substr(4, 1), "\xff") << c.name;
    EXPECT_EQ(s.to_client[3], '\x03') << c.name;
    EXPECT_TRUE(s.to_backend.empty()) << c.name;
  }
}

TEST(MysqlNegotiation, SslFlagInAFullPacketIsRefused) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  std::string payload = with_ssl(Response{}).payload();
  auto s = n.from_client(pkt(1, payload));
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason, "client set CLIENT_SSL in a " + std::to_string(payload.size()) +
                          "-byte packet; an SSL Request is 32 bytes");
}

TEST(MysqlNegotiation, MalformedAuthPacketsCloseWithAReason) {
  struct Case {
    std::string name;
    std::string backend;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"switch without NUL",
       pkt(2,
           "\xfe"
           "client_ed25519"),
       "malformed AuthSwitchRequest from the backend: plugin name is not NUL-terminated"},
      {"unknown type", pkt(2, "\x05"), "backend sent packet type 0x05 during authentication"},
      {"empty", pkt(2, ""), "backend sent an empty packet during authentication"},
  };
  for (const auto& c : cases) {
    MysqlNegotiation n(options());
    n.start();
    n.from_backend(greeting());
    n.from_client(ssl_request());
    n.client_tls_ready();
    n.from_client(with_ssl(Response{}).packet(2));
    auto s = n.from_backend(c.backend);
    EXPECT_EQ(s.next, Next::kClose) << c.name;
    EXPECT_EQ(s.reason, c.reason) << c.name;
    EXPECT_EQ(s.to_client.substr(3, 2), "\x03\xff") << c.name;
  }
}

TEST(MysqlNegotiation, BadPublicKeyClosesWithoutLeakingThePassword) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  n.from_client(ssl_request());
  n.client_tls_ready();
  n.from_client(with_ssl(Response{}).packet(2));
  n.from_backend(pkt(2, more_data("\x04")));
  auto s = n.from_client(pkt(4, nul("pw-xyz")));
  EXPECT_EQ(s.to_backend, pkt(3, "\x02"));
  s = n.from_backend(pkt(4, more_data("not a key")));
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "cannot encrypt the password of user alice for the backend: the backend's public "
            "key: not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  EXPECT_EQ(s.to_client[3], '\x05');
  EXPECT_TRUE(s.to_backend.empty());
}

TEST(MysqlNegotiation, PasswordTooLongForRsaClosesWithAReason) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  n.from_client(ssl_request());
  n.client_tls_ready();
  n.from_client(with_ssl(Response{}).packet(2));
  n.from_backend(pkt(2, more_data("\x04")));
  n.from_client(pkt(4, nul(std::string(300, 'p'))));
  auto s = n.from_backend(pkt(4, more_data(public_pem())));
  EXPECT_EQ(s.next, Next::kClose);
  EXPECT_EQ(s.reason,
            "cannot encrypt the password of user alice for the backend: RSA-OAEP of the password "
            "and its NUL byte with the backend's public key: 301 bytes are more than a 2048-bit "
            "RSA key takes with OAEP (214 at most)");
  EXPECT_TRUE(s.to_backend.empty());
}

TEST(MysqlNegotiation, ErrInsteadOfThePublicKeyIsForwarded) {
  MysqlNegotiation n(options());
  n.start();
  n.from_backend(greeting());
  n.from_client(ssl_request());
  n.client_tls_ready();
  n.from_client(with_ssl(Response{}).packet(2));
  n.from_backend(pkt(2, more_data("\x04")));
  n.from_client(pkt(4, nul("pw")));
  std::string err = err_payload(1045, "28000", "Access denied");
  auto s = n.from_backend(pkt(4, err));
  EXPECT_EQ(s.to_client, pkt(5, err));
  EXPECT_EQ(s.next, Next::kClose);
}

TEST(MysqlNegotiation, CallsOutOfTurnClose) {
  MysqlNegotiation n(options());
  n.start();
  EXPECT_EQ(n.from_client(ssl_request()).next, Next::kClose);
  MysqlNegotiation m(options());
  m.start();
  EXPECT_EQ(m.client_tls_ready().next, Next::kClose);
  MysqlNegotiation k(options());
  k.start();
  k.from_backend(greeting());
  EXPECT_EQ(k.backend_tls_ready().next, Next::kClose);
}

// Every truncation of a valid greeting and HandshakeResponse, declared with
// its truncated length: a reason or a step, never a read past the end.
TEST(MysqlNegotiation, EveryTruncationIsHandled) {
  std::string g = greeting().substr(4);
  for (size_t len = 0; len < g.size(); ++len) {
    MysqlNegotiation n(options());
    n.start();
    auto s = n.from_backend(pkt(0, g.substr(0, len)));
    if (s.next == Next::kClose) {
      EXPECT_FALSE(s.reason.empty()) << len;
    }
  }
  std::string r = with_ssl(Response{}).payload();
  for (size_t len = 0; len < r.size(); ++len) {
    MysqlNegotiation n(options());
    n.start();
    n.from_backend(greeting());
    n.from_client(ssl_request());
    n.client_tls_ready();
    auto s = n.from_client(pkt(2, r.substr(0, len)));
    if (s.next == Next::kClose) {
      EXPECT_FALSE(s.reason.empty()) << len;
    }
  }
}

}  // namespace
}  // namespace tlsgate::net::starttls
