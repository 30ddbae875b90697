// Client against a real pebble 2.4 (support/pebble_server.h): accounts,
// EAB, issuance over HTTP-01 and TLS-ALPN-01, badNonce retries, a failed
// challenge. Each test has a pebble of its own; each takes about a second.
#include "acme/client.h"

#include <gtest/gtest.h>

#include "acme/http_responder.h"
#include "pki/acme_challenge.h"
#include "pki/issuer.h"
#include "pki/jws.h"
#include "pki/loader.h"
#include "support/pebble_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::acme {
namespace {

std::unique_ptr<Client> open_client(const test::PebbleServer& pebble,
                                    pki::EvpPkeyPtr key = nullptr) {
  if (!key) key = pki::generate_key({}).value();
  ClientOptions options;
  options.directory_url = pebble.directory_url();
  options.ca_bundle = pebble.ca_bundle();
  options.request_timeout = std::chrono::seconds(10);
  auto client = Client::open(options, std::move(key));
  if (!client) ADD_FAILURE() << client.error().message();
  return client ? std::move(*client) : nullptr;
}

void start(test::PebbleServer& pebble) {
  auto error = pebble.start();
  ASSERT_EQ(error, "") << error;
}

// Verifies the PEM chain against pebble's issuing root and returns the
// leaf's SANs ("DNS:a, IP Address:b").
std::string verify_chain(const std::string& pem, const test::PebbleServer& pebble) {
  auto chain = pki::parse_certificates(pem, "chain").value();
  auto roots = pki::parse_certificates(pebble.issuing_root_pem(), "root").value();
  EXPECT_GE(chain.size(), 2u);
  pki::X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), roots.front().get());
  pki::X509StackPtr untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  pki::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get());
  int ok = X509_verify_cert(ctx.get());
  EXPECT_EQ(ok, 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  (void)sk_X509_shift(untrusted.get());  // the stack must not free what `chain` owns
  while (sk_X509_num(untrusted.get()) > 0) (void)sk_X509_pop(untrusted.get());
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  int at = X509_get_ext_by_NID(chain.front().get(), NID_subject_alt_name, -1);
  X509V3_EXT_print(bio.get(), X509_get_ext(chain.front().get(), at), 0, 0);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// A ChallengeResponder that counts, and may answer wrongly.
class CountingResponder : public ChallengeResponder {
 public:
  explicit CountingResponder(ChallengeResponder& inner, bool corrupt = false)
      : inner_(inner), corrupt_(corrupt) {}
  util::Status publish(ChallengeKind kind, const std::string& identifier, const std::string& token,
                       const std::string& key_authorization) override {
    ++published;
    return inner_.publish(kind, identifier, token, key_authorization + (corrupt_ ? "x" : ""));
  }
  void withdraw(ChallengeKind kind, const std::string& identifier,
                const std::string& token) override {
    ++withdrawn;
    inner_.withdraw(kind, identifier, token);
  }
  int published = 0, withdrawn = 0;

 private:
  ChallengeResponder& inner_;
  bool corrupt_;
};

TEST(AcmeClientTest, AnAccountIsCreatedThenFoundAgainByItsKey) {
  test::PebbleServer pebble;
  start(pebble);
  auto key = pki::generate_key({}).value();
  auto client = open_client(pebble, pki::up_ref(key.get()));
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->has_renewal_info());  // pebble 2.4
  auto url = client->register_account("ops@example.com", std::nullopt);
  ASSERT_TRUE(url) << url.error().message();
  EXPECT_TRUE(url->starts_with("https://127.0.0.1:" + std::to_string(pebble.acme_port()))) << *url;
  auto again = open_client(pebble, pki::up_ref(key.get()));
  EXPECT_EQ(again->register_account("ops@example.com", std::nullopt).value(), *url);
  // Another key, another account.
  auto other = open_client(pebble);
  EXPECT_NE(other->register_account("", std::nullopt).value(), *url);
}

TEST(AcmeClientTest, ExternalAccountBindingRequiredAndGiven) {
  test::PebbleServer::Options options;
  options.eab_required = true;
  std::string hmac = pki::base64url_encode(std::string(32, '\x5a'));
  options.eab_keys = {{"kid-1", hmac}};
  test::PebbleServer pebble(options);
  start(pebble);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  auto refused = client->register_account("", std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "ACME server " + pebble.directory_url() +
                ": newAccount: the server requires an External Account Binding; set acme_eab_kid "
                "and acme_eab_hmac_file to the key id and HMAC key the CA gave you");
  auto wrong =
      client->register_account("", ExternalAccountBinding{"kid-1", std::string(32, '\x5b')});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("newAccount: \"urn:ietf:params:acme:error:"),
            std::string::npos)
      << wrong.error().message();
  auto url = client->register_account(
      "", ExternalAccountBinding{"kid-1", pki::base64url_decode(hmac).value()});
  ASSERT_TRUE(url) << url.error().message();
}

TEST(AcmeClientTest, Http01IssuanceForADnsNameAndAnIp) {
  test::PebbleServer pebble;
  start(pebble);
  auto http = HttpResponder::start("127.0.0.1:" + std::to_string(pebble.http_port()));
  ASSERT_TRUE(http) << http.error().message();
  CountingResponder responder(**http);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->register_account("", std::nullopt));
  auto cert_key = pki::generate_key({}).value();
  OrderInput order;
  order.identifiers = {"acme.test", "127.0.0.1"};
  order.challenge = ChallengeKind::kHttp01;
  order.certificate_key = cert_key.get();
  auto chain = client->obtain(order, responder, std::stop_token());
  ASSERT_TRUE(chain) << chain.error().message() << "\n" << pebble.output();
  EXPECT_EQ(verify_chain(*chain, pebble), "DNS:acme.test, IP Address:127.0.0.1");
  EXPECT_EQ(responder.published, 2);
  EXPECT_EQ(responder.withdrawn, 2);
  EXPECT_GE((*http)->answered(), 2u);
}

// Serves the TLS-ALPN-01 certificate of the published challenge with
// `openssl s_server -alpn acme-tls/1` on pebble's tlsPort (a ChildProcess:
// OpensslServer reads its port back from a line s_server prints only for
// port 0).
class SServerResponder : public ChallengeResponder {
 public:
  explicit SServerResponder(int port) : port_(port) {}
  util::Status publish(ChallengeKind kind, const std::string& identifier, const std::string&,
                       const std::string& key_authorization) override {
    if (kind != ChallengeKind::kTlsAlpn01) return util::fail("not tls-alpn-01");
    auto made = pki::make_tls_alpn01_certificate(identifier, key_authorization);
    if (!made) return util::fail(made.error());
    test::write_cert(dir_ / "c.pem", made->certificate.get());
    test::write_key(dir_ / "k.pem", made->key.get());
    test::ChildProcess::Options options;
    options.stdin_pipe = true;  // s_server ends at EOF on stdin
    server_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{
            "openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port_), "-cert",
            (dir_ / "c.pem").string(), "-key", (dir_ / "k.pem").string(), "-alpn", "acme-tls/1"},
        options);
    if (!server_->wait_for_port(port_, test::Millis(15000))) {
      return util::fail("openssl s_server did not start: " + server_->output());
    }
    return {};
  }
  void withdraw(ChallengeKind, const std::string&, const std::string&) override {
    if (server_) output = server_->output();
    server_.reset();
  }
  std::string output;

 private:
  int port_;
  test::TempDir dir_;
  std::unique_ptr<test::ChildProcess> server_;
};

TEST(AcmeClientTest, TlsAlpn01IssuanceWithAShortValidity) {
  test::PebbleServer::Options options;
  options.validity_seconds = 600;  // certificateValidityPeriod, for renewal tests
  test::PebbleServer pebble(options);
  start(pebble);
  SServerResponder server(pebble.tls_port());
  CountingResponder responder(server);
  auto client = open_client(pebble, pki::generate_key({pki::KeySpec::Type::kRsa, 2048}).value());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->register_account("", std::nullopt));
  auto cert_key = pki::generate_key({}).value();
  OrderInput order;
  order.identifiers = {"alpn.test"};
  order.certificate_key = cert_key.get();
  auto chain = client->obtain(order, responder, std::stop_token());
  ASSERT_TRUE(chain) << chain.error().message() << "\n" << pebble.output();
  EXPECT_EQ(verify_chain(*chain, pebble), "DNS:alpn.test");
  auto leaf = pki::parse_certificates(*chain, "chain").value();
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf.front().get()),
                           X509_get0_notAfter(leaf.front().get())),
            1);
  EXPECT_EQ(days, 0);
  EXPECT_NEAR(seconds, 600, 2);
  EXPECT_EQ(responder.withdrawn, 1);
  EXPECT_NE(server.output.find("ALPN protocols selected: acme-tls/1"), std::string::npos)
      << server.output;
}

TEST(AcmeClientTest, BadNoncesAreRetried) {
  test::PebbleServer::Options options;
  options.nonce_reject_percent = 50;
  test::PebbleServer pebble(options);
  start(pebble);
  auto http = HttpResponder::start("127.0.0.1:" + std::to_string(pebble.http_port()));
  ASSERT_TRUE(http);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->register_account("", std::nullopt));
  auto cert_key = pki::generate_key({}).value();
  OrderInput order;
  order.identifiers = {"nonce.test"};
  order.challenge = ChallengeKind::kHttp01;
  order.certificate_key = cert_key.get();
  auto chain = client->obtain(order, **http, std::stop_token());
  ASSERT_TRUE(chain) << chain.error().message();
  // About half of ~10 requests were refused once or more.
  EXPECT_GE(client->bad_nonce_retries(), 1);
  RecordProperty("bad_nonce_retries", client->bad_nonce_retries());
}

TEST(AcmeClientTest, AFailedChallengeIsAClearErrorAndIsWithdrawn) {
  test::PebbleServer pebble;
  start(pebble);
  auto http = HttpResponder::start("127.0.0.1:" + std::to_string(pebble.http_port()));
  ASSERT_TRUE(http);
  CountingResponder responder(**http, /*corrupt=*/true);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->register_account("", std::nullopt));
  auto cert_key = pki::generate_key({}).value();
  OrderInput order;
  order.identifiers = {"wrong.test"};
  order.challenge = ChallengeKind::kHttp01;
  order.certificate_key = cert_key.get();
  auto chain = client->obtain(order, responder, std::stop_token());
  ASSERT_FALSE(chain);
  std::string prefix = "ACME server " + pebble.directory_url() +
                       ": authorization of \"wrong.test\": the http-01 challenge failed: "
                       "\"urn:ietf:params:acme:error:unauthorized\": ";
  EXPECT_EQ(chain.error().message().substr(0, prefix.size()), prefix) << chain.error().message();
  EXPECT_EQ(responder.published, 1);
  EXPECT_EQ(responder.withdrawn, 1);
}

TEST(AcmeClientTest, AnUntrustedServerIsRefusedAtOpen) {
  test::PebbleServer pebble;
  start(pebble);
  ClientOptions options;
  options.directory_url = pebble.directory_url();
  options.ca_bundle = "";  // the system's CAs do not know pebble's test CA
  auto client = Client::open(options, pki::generate_key({}).value());
  ASSERT_FALSE(client);
  std::string prefix = "ACME server " + pebble.directory_url() +
                       ": directory: https://127.0.0.1:" + std::to_string(pebble.acme_port()) +
                       ": TLS handshake: ";
  EXPECT_EQ(client.error().message().substr(0, prefix.size()), prefix) << client.error().message();
}

}  // namespace
}  // namespace tlsgate::acme

namespace tlsgate::acme {
namespace {

TEST(AcmeClientTest, StopEndsTheWaitAndWithdraws) {
  test::PebbleServer pebble;
  start(pebble);
  auto http = HttpResponder::start("127.0.0.1:" + std::to_string(pebble.http_port()));
  ASSERT_TRUE(http);
  CountingResponder responder(**http);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->register_account("", std::nullopt));
  auto cert_key = pki::generate_key({}).value();
  OrderInput order;
  order.identifiers = {"stop.test"};
  order.challenge = ChallengeKind::kHttp01;
  order.certificate_key = cert_key.get();
  std::stop_source stop;
  stop.request_stop();
  auto started = std::chrono::steady_clock::now();
  auto chain = client->obtain(order, responder, stop.get_token());
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().message(),
            "ACME server " + pebble.directory_url() + ": authorization of \"stop.test\": stopped");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(responder.published, 1);
  EXPECT_EQ(responder.withdrawn, 1);
}

TEST(AcmeClientTest, ObtainBeforeRegisterSaysSo) {
  test::PebbleServer pebble;
  start(pebble);
  auto client = open_client(pebble);
  ASSERT_TRUE(client);
  auto http = HttpResponder::start("127.0.0.1:0").value();
  auto cert_key = pki::generate_key({}).value();
  OrderInput order{{"a.test"}, ChallengeKind::kHttp01, cert_key.get(), std::nullopt};
  auto chain = client->obtain(order, *http, std::stop_token());
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().message(),
            "ACME server " + pebble.directory_url() +
                ": newOrder: no account yet; call register_account() first");
}

}  // namespace
}  // namespace tlsgate::acme

namespace tlsgate::acme {
namespace {

TEST(AcmeClientTest, PlainHttpDirectoriesAreRefused) {
  ClientOptions options;
  options.directory_url = "http://127.0.0.1:1/dir";
  auto client = Client::open(options, pki::generate_key({}).value());
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().message(),
            "ACME server http://127.0.0.1:1/dir: directory: \"http://127.0.0.1:1/dir\" is not an "
            "https:// URL; ACME runs over HTTPS only");
}

}  // namespace
}  // namespace tlsgate::acme
