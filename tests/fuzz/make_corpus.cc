// Writes the seed corpora of the harnesses in this folder.
//
//   make_corpus --committed DIR   seeds without key material, one folder per
//                                 harness (tests/fuzz/corpus/ is made this way)
//   make_corpus --keys DIR        seeds that hold private keys: private_key/ and
//                                 pkcs12/ key stores, minted fresh into the
//                                 build folder at build time, never committed;
//                                 and ocsp_response/ (signed with keys minted
//                                 here, so made at build time too)
//
// Certificates, CRLs and keys are minted here through pki (and OpenSSL for
// the forms pki does not write: PKCS#1, legacy encrypted PEM, a 9999 expiry).
// The record-framed seeds (postgres, mysql) use fuzz_records.h.
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_records.h"
#include "net/starttls/mysql.h"
#include "net/starttls/postgres.h"
#include "pki/base64.h"
#include "pki/crl_issuer.h"
#include "pki/csr.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "pki/pin.h"
#include "pki/pkcs12.h"
#include "util/clock.h"

namespace {

namespace fs = std::filesystem;
using namespace tlsgate;
using fuzz::record;
using pki::X509CrlPtr;
using pki::X509Ptr;

template <typename T>
T must(util::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error((dir / name).string() + ": cannot write");
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

// ---- certificates and CRLs ------------------------------------------------

struct Pki {
  pki::Issued ca;
  pki::Issued server;
  pki::Issued client;
  pki::Issued rsa;
  X509CrlPtr crl;
};

Pki mint() {
  const auto& clock = util::SystemClock::instance();
  Pki p;
  pki::CaRequest ca_req;
  ca_req.name = "fuzz CA";
  p.ca = must(pki::create_ca(ca_req, clock));
  pki::CertRequest server;
  server.names = {"db1.example.com", "*.db.example.com", "127.0.0.1", "::1"};
  p.server = must(pki::issue_certificate(server, p.ca.cert.get(), p.ca.key.get(), clock));
  pki::CertRequest client;
  client.names = {"app1", "app1@example.com", "spiffe://example.com/app1"};
  client.server = false;
  client.client = true;
  p.client = must(pki::issue_certificate(client, p.ca.cert.get(), p.ca.key.get(), clock));
  pki::CertRequest rsa;
  rsa.names = {"rsa.example.com"};
  rsa.key = must(pki::rsa_key_spec(2048));
  p.rsa = must(pki::issue_certificate(rsa, p.ca.cert.get(), p.ca.key.get(), clock));
  p.crl = must(pki::create_crl(p.ca.cert.get(), p.ca.key.get(),
                               {p.client.cert.get(), p.rsa.cert.get()}, clock));
  return p;
}

// RFC 5280 4.1.2.5: 99991231235959Z means "no well-defined expiration date".
X509Ptr no_expiry_copy(const Pki& p) {
  X509Ptr cert(X509_dup(p.server.cert.get()));
  if (!cert || ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), "99991231235959Z") != 1 ||
      X509_sign(cert.get(), p.ca.key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("cannot make the 9999 certificate");
  }
  return cert;
}

void certificate_seeds(const Pki& p, const fs::path& dir) {
  write(dir, "ca.pem", must(pki::certificate_pem(p.ca.cert.get())));
  write(dir, "ca.der", must(pki::certificate_der(p.ca.cert.get())));
  std::vector<X509Ptr> chain;
  chain.emplace_back(X509_dup(p.ca.cert.get()));
  write(dir, "server_chain.pem", must(pki::chain_pem(p.server.cert.get(), chain)));
  write(dir, "client.pem",
        "text before the block\n" + must(pki::certificate_pem(p.client.cert.get())));
  write(dir, "rsa.der", must(pki::certificate_der(p.rsa.cert.get())));
  write(dir, "no_expiry.pem", must(pki::certificate_pem(no_expiry_copy(p).get())));
  write(dir, "crl_not_cert.pem", must(pki::crl_pem(p.crl.get())));
  // A certificate request (the harness parses every input as one too); its key is not kept.
  pki::CsrRequest req;
  req.names = {"fuzz.example", "127.0.0.1"};
  write(dir, "request.pem", must(pki::csr_pem(must(pki::create_csr(req)).request.get())));
}

void crl_seeds(const Pki& p, const fs::path& dir) {
  write(dir, "crl.pem", must(pki::crl_pem(p.crl.get())));
  write(dir, "crl.der", must(pki::crl_der(p.crl.get())));
  const auto& clock = util::SystemClock::instance();
  auto empty = must(pki::create_crl(p.ca.cert.get(), p.ca.key.get(), {}, clock));
  write(dir, "two.pem", must(pki::crl_pem(empty.get())) + must(pki::crl_pem(p.crl.get())));
  write(dir, "cert_not_crl.pem", must(pki::certificate_pem(p.ca.cert.get())));
}

// One option byte (the harness's password choice: 0 "fuzz", 1 empty) before the store.
void truststore_seeds(const Pki& p, const fs::path& dir) {
  std::vector<X509Ptr> trust;
  trust.emplace_back(X509_dup(p.ca.cert.get()));
  trust.emplace_back(X509_dup(p.server.cert.get()));
  write(dir, "truststore_fuzz.p12",
        std::string(1, '\0') +
            must(pki::write_pkcs12(nullptr, nullptr, trust, util::Secret("fuzz"), "")));
  write(dir, "truststore_empty.p12",
        std::string(1, '\1') +
            must(pki::write_pkcs12(nullptr, nullptr, trust, util::Secret(""), "")));
}

// Private keys in every accepted form; option byte 0 = no password, 1 = "fuzz".
void key_seeds(const Pki& p, const fs::path& dir) {
  util::Secret fuzz("fuzz");
  write(dir, "ec_pkcs8.pem", '\0' + must(pki::private_key_pem(p.server.key.get())));
  write(dir, "ec_pkcs8.der", '\0' + must(pki::private_key_der(p.server.key.get())));
  write(dir, "rsa_pkcs8_encrypted.pem", '\1' + must(pki::private_key_pem(p.rsa.key.get(), fuzz)));
  write(dir, "ec_pkcs8_encrypted.der", '\1' + must(pki::private_key_der(p.server.key.get(), fuzz)));
  write(dir, "key_and_cert.pem",
        '\0' + must(pki::certificate_pem(p.client.cert.get())) +
            must(pki::private_key_pem(p.client.key.get())));
  pki::BioPtr traditional(BIO_new(BIO_s_mem()));  // PKCS#1, the traditional RSA form
  PEM_write_bio_PrivateKey_traditional(traditional.get(), p.rsa.key.get(), nullptr, nullptr, 0,
                                       nullptr, nullptr);
  write(dir, "rsa_pkcs1.pem", '\0' + bio_string(traditional.get()));
  pki::BioPtr legacy(BIO_new(BIO_s_mem()));  // Proc-Type: 4,ENCRYPTED
  std::string pw = "fuzz";
  PEM_write_bio_PrivateKey_traditional(legacy.get(), p.server.key.get(), EVP_aes_128_cbc(),
                                       reinterpret_cast<unsigned char*>(pw.data()),
                                       static_cast<int>(pw.size()), nullptr, nullptr);
  write(dir, "ec_legacy_encrypted.pem", '\1' + bio_string(legacy.get()));
}

void keystore_seeds(const Pki& p, const fs::path& dir) {
  std::vector<X509Ptr> chain;
  chain.emplace_back(X509_dup(p.ca.cert.get()));
  write(dir, "server_fuzz.p12",
        std::string(1, '\0') + must(pki::write_pkcs12(p.server.cert.get(), p.server.key.get(),
                                                      chain, util::Secret("fuzz"), "server")));
  write(dir, "rsa_empty.p12",
        std::string(1, '\1') +
            must(pki::write_pkcs12(p.rsa.cert.get(), p.rsa.key.get(), {}, util::Secret(""), "")));
}

// ---- OCSP responses: records now, issuer, leaf, response ------------------

struct OcspSpec {
  const X509* about = nullptr;  // the certificate the SingleResponse is for
  const EVP_MD* cert_id_md = EVP_sha1();
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = -1;
  bool next_update = true;
  const pki::Issued* signer = nullptr;  // nullptr: the CA
  bool include_signer = true;
};

std::string response_der(const OCSP_RESPONSE* resp) {
  unsigned char* der = nullptr;
  int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
  if (len <= 0) throw std::runtime_error("cannot make an OCSP response seed");
  pki::OpensslBytes owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

std::string ocsp_response(const Pki& p, const OcspSpec& spec, time_t at) {
  pki::OcspBasicRespPtr bs(OCSP_BASICRESP_new());
  pki::OcspCertIdPtr id(OCSP_cert_to_id(spec.cert_id_md, spec.about, p.ca.cert.get()));
  pki::Asn1TimePtr this_update(ASN1_GENERALIZEDTIME_set(nullptr, at));
  pki::Asn1TimePtr next_update(ASN1_GENERALIZEDTIME_set(nullptr, at + 7 * 86400));
  pki::Asn1TimePtr revoked(ASN1_GENERALIZEDTIME_set(nullptr, at - 3600));
  const pki::Issued& signer = spec.signer != nullptr ? *spec.signer : p.ca;
  bool revoke = spec.status == V_OCSP_CERTSTATUS_REVOKED;
  bool ok = bs && id &&
            OCSP_basic_add1_status(bs.get(), id.get(), spec.status, spec.reason,
                                   revoke ? revoked.get() : nullptr, this_update.get(),
                                   spec.next_update ? next_update.get() : nullptr) != nullptr &&
            OCSP_basic_sign(bs.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr,
                            spec.include_signer ? 0 : OCSP_NOCERTS) == 1;
  if (!ok) throw std::runtime_error("cannot sign an OCSP response seed");
  pki::OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  return response_der(resp.get());
}

std::string be64(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  return out;
}

// The harness's input: option byte, then records: now (8 bytes, big-endian
// Unix seconds), the issuer's DER, the leaf's DER, the response.
std::string ocsp_seed(const Pki& p, const X509* leaf, const std::string& response, time_t now) {
  return '\0' + record(be64(static_cast<uint64_t>(now))) +
         record(must(pki::certificate_der(p.ca.cert.get()))) +
         record(must(pki::certificate_der(leaf))) + record(response);
}

void ocsp_seeds(const Pki& p, const fs::path& dir) {
  const auto& clock = util::SystemClock::instance();
  time_t at = std::chrono::system_clock::to_time_t(clock.now());
  pki::CertRequest responder_req;
  responder_req.names = {"ocsp.example.com"};
  responder_req.server = false;
  responder_req.ocsp_signing = true;
  auto responder =
      must(pki::issue_certificate(responder_req, p.ca.cert.get(), p.ca.key.get(), clock));
  const X509* leaf = p.server.cert.get();
  auto seed = [&](const std::string& name, const OcspSpec& spec, time_t now) {
    write(dir, name, ocsp_seed(p, leaf, ocsp_response(p, spec, at), now));
  };
  seed("good_by_ca", {.about = leaf}, at);
  seed("good_expired", {.about = leaf}, at + 8 * 86400);
  seed("good_future", {.about = leaf}, at - 3600);
  seed("revoked_delegated",
       {.about = leaf, .status = V_OCSP_CERTSTATUS_REVOKED, .reason = 1, .signer = &responder}, at);
  seed("revoked_no_reason", {.about = leaf, .status = V_OCSP_CERTSTATUS_REVOKED}, at);
  seed("unknown_sha256",
       {.about = leaf, .cert_id_md = EVP_sha256(), .status = V_OCSP_CERTSTATUS_UNKNOWN}, at);
  seed("other_certificate", {.about = p.client.cert.get()}, at);
  seed("signer_without_ocsp_signing", {.about = leaf, .signer = &p.client}, at);
  seed("delegated_without_cert", {.about = leaf, .signer = &responder, .include_signer = false},
       at);
  seed("no_next_update", {.about = leaf, .next_update = false}, at);
  pki::OcspResponsePtr later(OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  write(dir, "try_later", ocsp_seed(p, leaf, response_der(later.get()), at));
}

// ---- text formats ---------------------------------------------------------

const char* kConfig =
    "# tlsgate.conf\n"
    "server.threads=2\n"
    "server.log_level=info\n"
    "ssl.policy.bolt.enabled=true\n"
    "ssl.policy.bolt.base_directory=certificates/bolt\n"
    "ssl.policy.bolt.client_auth=OPTIONAL\n"
    "ssl.policy.bolt.tls_versions=TLSv1.2,TLSv1.3\n"
    "ssl.policy.bolt.ciphers=TLS_AES_128_GCM_SHA256;ECDHE-ECDSA-AES128-GCM-SHA256\n"
    "ssl.policy.bolt.groups=X25519;P-256\n"
    "ssl.policy.bolt.handshake_timeout=0.5\n"
    "ssl.policy.bolt.identity_from=san_dns\n"
    "ssl.policy.bolt.pinned_certs=sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    "connector.pg.listen_address=127.0.0.1:6432\n"
    "connector.pg.upstream_address=127.0.0.1:5432\n"
    "connector.pg.protocol=postgres\n"
    "connector.pg.tls_level=REQUIRED\n"
    "connector.pg.ssl_policy=bolt\n"
    "connector.pg.user_map=users.map\n"
    "connector.pg.proxy_protocol=v2\n"
    "connector.my.listen_address=[::1]:3307\n"
    "connector.my.upstream_address=localhost:3306\n"
    "connector.my.protocol=mysql\n"
    "connector.my.tls_level=OPTIONAL\n"
    "connector.my.ssl_policy=bolt\n"
    "connector.my.upstream_ssl_policy=bolt\n"
    "connector.my.max_connections=100\n";

void text_seeds(const fs::path& root) {
  write(root / "properties", "basic.conf",
        "# comment\n! also a comment\nkey=value\n  spaced.key  =  spaced value  \n\nempty=\n");
  write(root / "properties", "continuation.conf",
        "long=first \\\n    second \\\\\nescaped=a\\\\\\\n  b\ntrailing=\\");
  write(root / "properties", "bom_crlf.conf",
        "\xEF\xBB\xBFkey=value\r\nno equals here\r\n=novalue\r\n");
  write(root / "properties", "tlsgate.conf", kConfig);

  write(root / "config", "tlsgate.conf", kConfig);
  write(root / "config", "mistakes.conf",
        "ssl.policy.bolt.enabeld=true\nssl.policy.bolt.client_auth=SOMETIMES\n"
        "ssl.policy.bolt.tls_versions=TLSv1.0\nssl.policy.bolt.trust_all=true\n"
        "dbms.ssl.policy.https.enabled=true\nconnector.x.listen_address=nohost\n"
        "connector.x.ssl_policy=missing\nconnector.x.user_map=u.map\n"
        "server.threads=0\nserver.threads=2\n");
  write(root / "config", "with_env.conf",
        std::string("ssl.policy.bolt.enabled=true\n", 29) + '\0' +
            "TLSGATE_ssl_policy_bolt_base__directory=/certs" + '\0' +
            "TLSGATE_connector_c_listen__address=127.0.0.1:1" + '\0' + "TLSGATE_BIN=/x");

  write(root / "user_map", "users.map",
        "# identity            database user\n"
        "app1                  app\n"
        "CN=App One,O=Acme     reporting\n"
        "admin@example.com     *\n"
        "\tapp2\tapp \r\n");
  write(root / "user_map", "bad.map", "app1 app\nlonely\n");

  write(root / "http_url", "ocsp", "http://ocsp.example.com:8080/a/b?x=1&y=%2F");
  write(root / "http_url", "ipv6", "http://[2001:db8::7]:2560/");
  write(root / "http_url", "https", "https://ocsp.example.com/");
  write(root / "http_url", "hostile", "http://user@h.example:0/a\r\nHost: evil#f");
  // acme_renewal_info: the Retry-After line, then the renewalInfo body.
  write(root / "acme_renewal_info", "rfc9773",
        "21600\n{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\",\"end\":"
        "\"2025-01-03T04:00:00Z\"},\"explanationURL\":\"https://acme.example.com/docs/ari\"}");
  write(root / "acme_renewal_info", "offsets",
        "\n{\"suggestedWindow\":{\"start\":\"2025-01-02T06:00:00.123+02:00\",\"end\":"
        "\"2025-01-02T05:00:00.5Z\"}}");
  write(root / "acme_renewal_info", "types",
        "Wed, 21 Oct 2015 07:28:00 GMT\n{\"suggestedWindow\":{\"start\":1,\"end\":null}}");
  // Found by the fuzzer: a year that overflows system_clock's nanoseconds.
  write(root / "acme_renewal_info", "year_1012",
        "21600\n{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\",\"end\":"
        "\"1012-01-03T04:00:00Z\"},\"explanationURL\":\"https://acm-02T04:00:00Z/docs/ari\"}");
}

// ---- PROXY header: FuzzedDataProvider input, so any bytes will do --------

void proxy_seeds(const fs::path& dir) {
  std::string a(64, '\0'), b(64, '\xff'), c;
  for (int i = 0; i < 256; ++i) c += static_cast<char>(i * 37);
  write(dir, "zeros", a);
  write(dir, "ones", b);
  write(dir, "mixed", c);
}

// ---- PostgreSQL: option byte = tls_level, then records --------------------

std::string be32(uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  return out;
}

std::string pg_packet(uint32_t code, const std::string& body = "") {
  return be32(static_cast<uint32_t>(8 + body.size())) + be32(code) + body;
}

void postgres_seeds(const fs::path& dir) {
  using namespace net::starttls;
  const char kRequired = 2, kOptional = 1, kDisabled = 0;
  std::string startup =
      pg_packet(kProtocol3, std::string("user\0app\0database\0db\0application_name\0psql\0\0", 45));
  write(dir, "ssl_then_startup_in_tls",
        kRequired + record(pg_ssl_request()) + record(startup, /*tls_started=*/true));
  write(dir, "ssl_split",
        kRequired + record(pg_ssl_request().substr(0, 3)) + record(pg_ssl_request().substr(3)));
  write(dir, "plaintext_startup", kOptional + record(startup));
  write(dir, "plaintext_refused",
        kRequired + record(startup.substr(0, 10)) + record(startup.substr(10)));
  write(dir, "gssenc_then_ssl",
        kRequired + record(pg_packet(kGssEncRequestCode)) + record(pg_ssl_request()));
  write(dir, "ssl_disabled", kDisabled + record(pg_ssl_request()) + record(startup));
  write(dir, "cancel", kRequired + record(pg_packet(kCancelRequestCode, std::string(8, '\x11'))));
  write(dir, "ssl_with_trailing", kRequired + record(pg_ssl_request() + "\x16\x03\x01"));
}

// ---- MySQL: option byte, then records for whichever side is awaited -------

std::string le(uint32_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string pkt(uint8_t seq, const std::string& payload) {
  return le(static_cast<uint32_t>(payload.size()), 3) + static_cast<char>(seq) + payload;
}
std::string nul(const std::string& s) { return s + '\0'; }

const std::string kScramble = "abcdefgh0123456789AB";
const std::string kSha2 = "caching_sha2_password";
constexpr uint32_t kClientCaps = 0x1 | 0x4 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000 |
                                 0x100000 | 0x200000 | 0x01000000 | 0x8;
constexpr uint32_t kServerCaps = 0xdfffffff & ~0x800u;

std::string greeting(uint32_t caps, const std::string& plugin) {
  std::string p = "\x0a" + nul("8.0.36") + le(0x2a, 4) + kScramble.substr(0, 8) + '\0';
  p += le(caps & 0xffff, 2) + '\xff' + le(2, 2) + le(caps >> 16, 2);
  p +=
      static_cast<char>(kScramble.size() + 1) + std::string(6, '\0') + std::string("\x1d\0\0\0", 4);
  p += nul(kScramble.substr(8)) + nul(plugin);
  return pkt(0, p);
}

std::string fixed(uint32_t caps) {
  return le(caps, 4) + le(0x01000000, 4) + '\x2d' + std::string(23, '\0');
}

std::string response(uint8_t seq, uint32_t caps, const std::string& user, const std::string& auth,
                     const std::string& plugin) {
  std::string p = fixed(caps) + nul(user) + static_cast<char>(auth.size()) + auth + nul("shop") +
                  nul(plugin) + "\x0c\x0c_client_name";
  return pkt(seq, p);
}

std::string public_pem() {
  pki::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  return bio_string(bio.get());
}

// A MySQL stream as the session reads it: each packet's 4-byte header, then
// its payload (it reads at most the bytes the machine wants).
std::string reads(std::string_view packets) {
  std::string out;
  while (packets.size() >= 4) {
    size_t n = std::min(packets.size() - 4, size_t{static_cast<uint8_t>(packets[0])} |
                                                (size_t{static_cast<uint8_t>(packets[1])} << 8) |
                                                (size_t{static_cast<uint8_t>(packets[2])} << 16));
    out += record(packets.substr(0, 4));
    if (n > 0) out += record(packets.substr(4, n));
    packets.remove_prefix(4 + n);
  }
  return out;
}

// One packet in short reads: the header in two, the payload `step` bytes at a time.
std::string split_reads(std::string_view packet, size_t step) {
  std::string out = record(packet.substr(0, 2)) + record(packet.substr(2, 2));
  for (size_t at = 4; at < packet.size(); at += step) out += record(packet.substr(at, step));
  return out;
}

// protocol=nats: option byte (see nats_fuzz.cc), then what each step awaits.
void nats_seeds(const fs::path& dir) {
  const char kRequired = 2, kOptional = 1, kDisabled = 0;
  const char kUpstreamTls = 4, kTlsFirstUp = 8, kCheckUser = 16, kAdvertise = 32, kCerts = 64;
  const std::string info =
      "INFO {\"server_id\":\"S\",\"host\":\"0.0.0.0\",\"port\":4223,\"headers\":true,"
      "\"connect_urls\":[\"10.0.0.1:4223\",\"10.0.0.2:4223\"],\"ws_connect_urls\":[\"10.0.0.1:80\"]"
      ","
      "\"ldm\":false}\r\n";
  const std::string tls_info = "INFO {\"server_id\":\"S\",\"tls_required\":true}\r\n";
  const std::string event = record("", true);  // a handshake done, or the window passed
  const std::string stream =
      record("MSG a 1 5\r\nINFO ") + record("{\r\n") +
      record("PING\r\nHMSG a 2 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n") +
      record("INFO {\"connect_urls\":[\"10.0.0.3:4223\"],\"ldm\":true}\r\n", true) +
      record("+OK\r\n-ERR 'x'\r\nPONG\r\n");
  // TLS first: the ClientHello byte within the window, the handshake, the relay.
  write(dir, "tls_first",
        std::string(1, kRequired | kAdvertise | kCerts) + record(info) + record("\x16") + event +
            stream);
  // The INFO upgrade: the window passes, then the ClientHello.
  write(dir, "info_upgrade",
        std::string(1, kRequired | kAdvertise) + record(info.substr(0, 9)) +
            record(info.substr(9)) + event + record("\x16") + event + stream);
  write(dir, "plaintext_required", std::string(1, kRequired) + record(info) + event + record("C"));
  write(dir, "plaintext_optional",
        std::string(1, kOptional) + record(info) + event + record("C") + stream);
  write(dir, "disabled", std::string(1, kDisabled) + record(info + "PING\r\n") + stream);
  write(dir, "user_map",
        std::string(1, kRequired | kCheckUser) + record(info) + record("\x16") + event +
            record("CONNECT {\"user\":\"al") + record("ice\",\"pass\":\"pw\"}\r\nPING\r\n") +
            stream);
  write(dir, "user_map_refused",
        std::string(1, kRequired | kCheckUser) + record(info) + record("\x16") + event +
            record("CONNECT {\"user\":\"bob\"}\r\n"));
  write(dir, "upstream_upgrade",
        std::string(1, kRequired | kUpstreamTls) + record(tls_info) + event + record("\x16") +
            event + stream);
  write(dir, "upstream_tls_first",
        std::string(1, kRequired | kUpstreamTls | kTlsFirstUp) + event + record(tls_info) + event +
            record("\x16") + event + stream);
}

void mysql_seeds(const fs::path& dir) {
  const char kRequired = 2, kOptional = 1, kDisabled = 0;
  const char kUpstreamTls = 4, kCheckUser = 8;
  std::string ok = pkt(2, std::string("\x00\x00\x00\x02\x00\x00\x00", 7));
  std::string ssl = pkt(1, fixed(kClientCaps | 0x800));
  std::string g = greeting(kServerCaps, kSha2);
  std::string scrambled(32, '\x5a');
  // TLS client, caching_sha2 fast auth: greeting, SSL Request, response in TLS, 0x01 0x03, OK.
  write(dir, "tls_fast_auth",
        kRequired + reads(g) + reads(ssl) +
            reads(response(2, kClientCaps | 0x800, "alice", scrambled, kSha2)) +
            reads(pkt(2, "\x01\x03")) +
            reads(pkt(3, std::string("\x00\x00\x00\x02\x00\x00\x00", 7))));
  // Full auth over a plaintext backend link: the gate encrypts the password with the backend's key.
  write(dir, "tls_full_auth_public_key",
        kRequired + reads(g) + reads(ssl) +
            reads(response(2, kClientCaps | 0x800, "alice", scrambled, kSha2)) +
            reads(pkt(2, "\x01\x04")) + reads(pkt(4, nul("secret"))) +
            reads(pkt(4, "\x01" + public_pem())) +
            reads(pkt(6, std::string("\x00\x00\x00\x02\x00\x00\x00", 7))));
  // sha256_password with its clear password in the response.
  write(dir, "tls_sha256_password",
        kRequired + reads(g) + reads(ssl) +
            reads(response(2, kClientCaps | 0x800, "bob", nul("secret"), "sha256_password")) +
            reads(pkt(2, "\x01" + public_pem())) +
            reads(pkt(4, std::string("\x00\x00\x00\x02\x00\x00\x00", 7))));
  // Auth switch to ed25519, then OK.
  write(dir, "tls_auth_switch",
        kOptional + reads(g) + reads(ssl) +
            reads(response(2, kClientCaps | 0x800, "carol", scrambled, kSha2)) +
            reads(pkt(2, "\xfe" + nul("client_ed25519") + std::string(32, 'n'))) +
            reads(pkt(4, std::string(64, 's'))) +
            reads(pkt(4, std::string("\x00\x00\x00\x02\x00\x00\x00", 7))));
  // Plaintext client on an OPTIONAL port, split reads.
  std::string plain = response(1, kClientCaps, "dave", scrambled, kSha2);
  write(dir, "plaintext_optional_split",
        kOptional + split_reads(g, 1) + split_reads(plain, 16) + split_reads(ok, 3));
  write(dir, "plaintext_required", kRequired + reads(g) + reads(plain));
  // Upstream TLS: our own SSL Request, backend TLS, then the response.
  write(dir, "upstream_tls",
        static_cast<char>(kRequired | kUpstreamTls) + reads(greeting(kServerCaps | 0x800, kSha2)) +
            reads(ssl) + reads(response(2, kClientCaps | 0x800, "erin", scrambled, kSha2)) +
            reads(pkt(3, std::string("\x00\x00\x00\x02\x00\x00\x00", 7))));
  // A user the check refuses, and one it lets through.
  write(dir, "user_refused",
        static_cast<char>(kRequired | kCheckUser) + reads(g) + reads(ssl) +
            reads(response(2, kClientCaps | 0x800, "xavier", scrambled, kSha2)));
  write(dir, "disabled_relay", kDisabled + reads(g));
  write(dir, "disabled_check_user",
        static_cast<char>(kDisabled | kCheckUser) + reads(g) + reads(plain) + reads(ok));
  write(dir, "backend_error_first",
        kRequired + reads(pkt(0, "\xff" + le(1040, 2) + "Too many connections")));
  write(dir, "ssl_request_overrun",
        kRequired + reads(g) + record(ssl + "\x16\x03\x01\x00", /*flag: fed whole=*/true));
  write(dir, "backend_gone",
        kRequired + reads(g) + record(ssl.substr(0, 2)) + record("", /*flag: backend gone=*/true));
}

// ---- the admin API --------------------------------------------------------

// Option byte (admin_api_fuzz.cc): bits 0-2 method (GET PUT POST DELETE ...),
// 3-4 role (none, read-only, read-write), 5 the metrics listener.
std::string admin_request(uint8_t option, const std::string& target, const std::string& body = "") {
  return std::string(1, static_cast<char>(option)) + target + '\0' + body;
}

void admin_seeds(const Pki& p, const fs::path& dir, bool with_keys) {
  constexpr uint8_t kGet = 0, kPut = 1, kPost = 2, kDelete = 3;
  constexpr uint8_t kReadOnly = 1 << 3, kWriter = 2 << 3, kMetrics = 1 << 5;
  const std::string cert =
      must(pki::certificate_pem(p.server.cert.get())) + must(pki::certificate_pem(p.ca.cert.get()));
  if (with_keys) {
    nlohmann::json body = {{"certificate", cert},
                           {"private_key", must(pki::private_key_pem(p.server.key.get()))}};
    write(dir, "put_pem_pair",
          admin_request(kPut | kWriter, "/v1/policies/pg/certificate", body.dump()));
    auto p12 = must(pki::write_pkcs12(p.server.cert.get(), p.server.key.get(), {},
                                      util::Secret("pw"), "server"));
    nlohmann::json pk = {{"pkcs12", pki::encode_base64(p12)}, {"password", "pw"}};
    write(dir, "put_pkcs12",
          admin_request(kPut | kWriter, "/v1/policies/pg/certificate", pk.dump()));
    return;
  }
  write(dir, "status", admin_request(kGet | kReadOnly, "/v1/status"));
  write(dir, "certificates", admin_request(kGet | kWriter, "/v1/certificates"));
  write(dir, "connections_query",
        admin_request(kGet | kReadOnly, "/v1/connections?connector=p%67&limit=5&x"));
  write(dir, "delete_connection", admin_request(kDelete | kWriter, "/v1/connections/42"));
  write(dir, "reload", admin_request(kPost | kWriter, "/v1/reload"));
  write(dir, "reload_read_only", admin_request(kPost | kReadOnly, "/v1/reload"));
  write(dir, "metrics_listener", admin_request(kGet | kMetrics, "/metrics"));
  write(dir, "healthz", admin_request(kGet | kMetrics, "/healthz"));
  write(dir, "nobody", admin_request(kGet, "/v1/status"));
  write(dir, "dashboard", admin_request(kGet | kReadOnly, "/"));
  write(dir, "bad_percent", admin_request(kGet | kWriter, "/v1/st%zzatus?a=%4"));
  nlohmann::json body = {{"certificate", cert}, {"private_key", "not a key"}};
  write(dir, "put_no_key",
        admin_request(kPut | kWriter, "/v1/policies/pg/certificate", body.dump()));
  write(dir, "put_pkcs12_garbage",
        admin_request(kPut | kWriter, "/v1/policies/pg/certificate",
                      R"({"pkcs12": "TUlJQ0FBQUFB\nQUFB==", "password": ""})"));
  write(dir, "put_not_json",
        admin_request(kPut | kWriter, "/v1/policies/x/certificate", "{\"certificate\": [1, {"));
}

}  // namespace

// The client's stream after login (mysql_commands_fuzz.cc): commands, a
// change-user among them, split across reads.
void mysql_command_seeds(const fs::path& dir) {
  std::string query = pkt(0, "\x03SELECT 1");
  std::string change = pkt(0, "\x11" + nul("bob") + std::string("\x14", 1) + std::string(20, 's') +
                                  nul("db") + std::string("\x2d\x00", 2));
  std::string infile = pkt(1, "rows\n") + pkt(2, "");
  write(dir, "query_change_user", std::string(1, '\0') + record(query) + record(change));
  write(dir, "split_header_and_name",
        std::string(1, '\0') + record(change.substr(0, 2)) + record(change.substr(2, 5)) +
            record(change.substr(7)) + record(query));
  write(dir, "load_data_then_change", std::string(1, '\0') + record(query + infile + change));
}

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "--committed" && std::string(argv[1]) != "--keys")) {
    std::cerr << "usage: make_corpus --committed DIR | --keys DIR\n";
    return 2;
  }
  try {
    fs::path root = argv[2];
    Pki p = mint();
    if (std::string(argv[1]) == "--keys") {
      key_seeds(p, root / "private_key");
      keystore_seeds(p, root / "pkcs12");
      ocsp_seeds(p, root / "ocsp_response");
      admin_seeds(p, root / "admin_api", /*with_keys=*/true);
      return 0;
    }
    certificate_seeds(p, root / "certificate");
    crl_seeds(p, root / "crl");
    truststore_seeds(p, root / "pkcs12");
    text_seeds(root);
    proxy_seeds(root / "proxy_header");
    postgres_seeds(root / "postgres");
    mysql_seeds(root / "mysql");
    mysql_command_seeds(root / "mysql_commands");
    nats_seeds(root / "nats");
    admin_seeds(p, root / "admin_api", /*with_keys=*/false);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "make_corpus: " << e.what() << "\n";
    return 1;
  }
}
