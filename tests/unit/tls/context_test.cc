#include "tls/context.h"

#include <gtest/gtest.h>

#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using testing::handshake;
using testing::make_policy;

class ContextTest : public testing::TlsTest {
 protected:
  ContextTest() : TlsTest("Context CA") {}
};

TEST_F(ContextTest, MutualTlsWithIdentity) {
  server_.client_auth = config::ClientAuth::kRequire;
  server_.identity_from = config::IdentityFrom::kCn;
  server_.allowed_identities = {"app1"};
  auto r = handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "localhost");
  EXPECT_TRUE(r.server_ok) << r.server_error;
  EXPECT_TRUE(r.client_ok) << r.client_error;
  EXPECT_EQ(r.server_saw.identity, "app1");
  EXPECT_EQ(r.version, "TLSv1.3");
}

TEST_F(ContextTest, IdentityNotAllowedIsNamed) {
  server_.client_auth = config::ClientAuth::kRequire;
  server_.identity_from = config::IdentityFrom::kCn;
  server_.allowed_identities = {"app2"};
  auto r = handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "localhost");
  EXPECT_FALSE(r.server_ok);
  EXPECT_EQ(
      r.server_error,
      "client certificate CN=app1,O=tlsgate (cn app1) is not in ssl.policy.srv.allowed_identities");
}

TEST_F(ContextTest, ClientFromAnotherCaIsRefused) {
  auto other = test::make_test_ca("Other CA");
  test::TempDir other_dir;
  auto stranger =
      make_policy(other_dir.path(), "cli", other, test::make_leaf(other, {"app1"}, false, true));
  stranger.trusted_dir = client_.trusted_dir;  // the stranger trusts our server
  server_.client_auth = config::ClientAuth::kRequire;
  auto r = handshake(*build(server_, Side::kServer), *build(stranger, Side::kClient), "localhost");
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);
}

TEST_F(ContextTest, HostnameIsVerified) {
  auto r =
      handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "db.example.com");
  EXPECT_FALSE(r.client_ok);
  EXPECT_EQ(r.client_error, "hostname mismatch");
  auto by_ip =
      handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "127.0.0.1");
  EXPECT_TRUE(by_ip.client_ok) << by_ip.client_error;
}

TEST_F(ContextTest, PinsAdmitOnlyWhatTheyName) {
  server_.client_auth = config::ClientAuth::kRequire;
  server_.pinned_certs = {std::string(64, 'a')};
  auto r = handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "localhost");
  EXPECT_FALSE(r.server_ok);
  EXPECT_NE(r.server_error.find("is not in ssl.policy.srv.pinned_certs"), std::string::npos)
      << r.server_error;
}

TEST_F(ContextTest, VersionCipherAndGroupAreTheConfiguredOnes) {
  server_.tls_versions = {"TLSv1.2"};
  server_.ciphers = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  server_.groups = {"P-384", "P-256"};  // TLS 1.2 ECDSA needs the certificate's own curve too
  auto r = handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "localhost");
  ASSERT_TRUE(r.client_ok) << r.client_error;
  EXPECT_EQ(r.version, "TLSv1.2");
  EXPECT_EQ(r.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(r.group, "secp384r1");
}

TEST_F(ContextTest, OnlyTls12ClientAgainstTls13PolicyFails) {
  server_.tls_versions = {"TLSv1.3"};
  client_.tls_versions = {"TLSv1.2"};
  auto r = handshake(*build(server_, Side::kServer), *build(client_, Side::kClient), "localhost");
  EXPECT_FALSE(r.client_ok);
  EXPECT_FALSE(r.server_ok);
}

TEST_F(ContextTest, BuildNamesTheBrokenKey) {
  test::write_text(server_.private_key,
                   "-----BEGIN "
                   "PRIVATE KEY-----\nAAAA\n",
                   0600);
  auto ctx = build_context(server_, Side::kServer, {}, util::SystemClock::instance());
  ASSERT_FALSE(ctx);
  EXPECT_EQ(
      ctx.error().message().rfind("ssl.policy.srv.private_key: " + server_.private_key.string(), 0),
      0u)
      << ctx.error().message();
}

TEST_F(ContextTest, CommandPasswordNeedsExpandCommands) {
  server_.private_key_password = util::Secret("$(echo secret)");
  auto ctx = build_context(server_, Side::kServer, {}, util::SystemClock::instance());
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message(),
            "ssl.policy.srv.private_key_password: is a $(command), which runs only when tlsgate is "
            "started with --expand-commands; add the flag, or write the password itself");
  EXPECT_EQ(ctx.error().message().find("secret"), std::string::npos);
}

// The ALPN protocol a client offering `offered` gets from a server context
// without a list of its own whose connection accepts only `accepted`
// ("" = no ALPN agreed, "failed" = handshake failed).
std::string alpn_agreed(const Context& server, const config::Policy& client_policy,
                        const std::vector<std::string>& offered, const std::string& accepted) {
  BuildOptions options;
  options.alpn = offered;
  auto client = build_context(client_policy, Side::kClient, options, util::SystemClock::instance());
  EXPECT_TRUE(client);
  if (!client) return "no client";
  std::string wire = alpn_wire({accepted});
  testing::MemoryConnection conn(server, **client, "localhost");
  if (!accepted.empty()) set_connection_alpn(conn.server(), wire);
  if (!conn.handshake().ok()) return "failed";
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(conn.client(), &proto, &len);
  // After the session tickets, so the client has read them all.
  EXPECT_EQ(conn.server_to_client("x"), "");
  return std::string(reinterpret_cast<const char*>(proto), len);
}

TEST_F(ContextTest, AlpnIsChosenPerConnection) {
  client_.client_auth = config::ClientAuth::kNone;
  auto server = build(server_, Side::kServer);
  EXPECT_EQ(alpn_agreed(*server, client_, {"postgresql"}, "postgresql"), "postgresql");
  EXPECT_EQ(alpn_agreed(*server, client_, {"h2", "postgresql"}, "postgresql"), "postgresql");
  EXPECT_EQ(alpn_agreed(*server, client_, {}, "postgresql"), "") << "no ALPN offered: served";
  EXPECT_EQ(alpn_agreed(*server, client_, {"h2"}, "postgresql"), "failed")
      << "a client that needs another protocol learns it at once (no_application_protocol)";
  EXPECT_EQ(alpn_agreed(*server, client_, {"h2"}, ""), "")
      << "a connection without a list ignores ALPN";
}

}  // namespace
}  // namespace tlsgate::tls
