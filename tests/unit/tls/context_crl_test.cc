// Contexts with CRLs in revoked_dir, and real handshakes through them: a
// stale CRL under stale_crl=WARN and REJECT, a CRL from the future, both
// directions.
#include <chrono>

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "pki/certificate_info.h"
#include "tls/context.h"
#include "tls/handshake_error.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::kClientAddress;
using testing::kServerAddress;
using testing::MemoryConnection;

class ContextCrlTest : public testing::TlsTest {
 protected:
  ContextCrlTest()
      : TlsTest("CRL CA"),
        now_(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())) {
    server_.client_auth = config::ClientAuth::kRequire;
  }

  // A CRL of ca_ in the server's revoked_dir (the client's with `dir`).
  std::filesystem::path crl(const std::string& name, util::SystemTime last, util::SystemTime next,
                            const std::vector<const X509*>& revoked = {},
                            const std::filesystem::path* dir = nullptr) {
    auto path = (dir ? *dir : server_.revoked_dir) / name;
    test::write_crl(path, ca_, revoked, last, next);
    return path;
  }
  std::filesystem::path stale_crl(const std::vector<const X509*>& revoked = {}) {
    return crl("ca.crl", now_ - 48h, now_ - 24h, revoked);
  }

  // One handshake of a client (client_) with the server (server_).
  MemoryConnection::Outcome connect() {
    server_ctx_ = build(server_, Side::kServer);
    client_ctx_ = build(client_, Side::kClient);
    conn_ = std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, "localhost");
    auto outcome = conn_->handshake();
    EXPECT_EQ(ERR_peek_error(), 0u);
    return outcome;
  }

  std::string stale_refusal(const std::string& who, const std::filesystem::path& file,
                            const config::Policy& policy) {
    return who + " refused: the CRL " + file.string() +
           " from CN=CRL CA,O=tlsgate is stale (its nextUpdate " + pki::format_time(now_ - 24h) +
           " has passed) and ssl.policy." + policy.scope +
           ".stale_crl is REJECT; put a fresh CRL from CN=CRL CA,O=tlsgate into " +
           policy.revoked_dir.string() + "; tlsgate reloads it";
  }

  // X509_verify_cert on the context's store, outside a handshake (as a
  // re-check of an established peer does); the verify error.
  int verify_on_store(const Context& ctx, X509* leaf) {
    pki::X509StoreCtxPtr x(X509_STORE_CTX_new());
    EXPECT_EQ(
        X509_STORE_CTX_init(x.get(), SSL_CTX_get_cert_store(ctx.ssl_ctx.get()), leaf, nullptr), 1);
    int ok = X509_verify_cert(x.get());
    int error = X509_STORE_CTX_get_error(x.get());
    EXPECT_EQ(ok == 1, error == X509_V_OK);
    return error;
  }

  util::SystemTime now_;
  std::shared_ptr<const Context> server_ctx_;
  std::shared_ptr<const Context> client_ctx_;
  std::unique_ptr<MemoryConnection> conn_;
};

TEST_F(ContextCrlTest, BuildKeepsWhatItLoadedPerCrlFile) {
  auto file = stale_crl();
  auto other = test::make_test_ca("Other CA");
  test::write_crl(server_.revoked_dir / "other.crl", other, {}, now_ - 1h, now_ + 24h);
  auto ctx = build(server_, Side::kServer);
  ASSERT_NE(ctx, nullptr);
  EXPECT_TRUE(ctx->has_crls);
  ASSERT_EQ(ctx->crls.size(), 2u);
  const CrlFile& c = ctx->crls[0];
  EXPECT_EQ(c.file, file);
  EXPECT_EQ(c.issuer, "CN=CRL CA,O=tlsgate");
  EXPECT_EQ(c.last_update, now_ - 48h);
  EXPECT_EQ(c.next_update, std::optional<util::SystemTime>(now_ - 24h));
  EXPECT_TRUE(c.stale);
  EXPECT_FALSE(ctx->crls[1].stale);
  EXPECT_EQ(ctx->crl_for_issuer(X509_get_subject_name(ca_.ca.cert.get())), &ctx->crls[0]);
  EXPECT_EQ(ctx->crl_for_issuer(X509_get_subject_name(other.ca.cert.get())), &ctx->crls[1]);
  auto stranger = test::make_test_ca("Stranger CA");
  EXPECT_EQ(ctx->crl_for_issuer(X509_get_subject_name(stranger.ca.cert.get())), nullptr);
  EXPECT_EQ(crl_warnings(*ctx, now_).size(), 1u);
}

TEST_F(ContextCrlTest, NoRevokedFolderNoCrls) {
  std::filesystem::remove_all(server_.revoked_dir);
  auto ctx = build(server_, Side::kServer);
  ASSERT_NE(ctx, nullptr);
  EXPECT_FALSE(ctx->has_crls);
  EXPECT_TRUE(ctx->crls.empty());
  EXPECT_EQ(ctx->crl_for_issuer(X509_get_subject_name(ca_.ca.cert.get())), nullptr);
}

TEST_F(ContextCrlTest, StaleCrlUnderWarnLetsThePeerInAndCountsIt) {
  stale_crl();
  auto r = connect();
  EXPECT_TRUE(r.server_ok) << r.server_error;
  EXPECT_TRUE(r.client_ok) << r.client_error;
  EXPECT_EQ(conn_->client_to_server("after the handshake"), "");
  EXPECT_EQ(SSL_get_verify_result(conn_->server()), X509_V_OK);
  EXPECT_EQ(refusing_crl(conn_->server(), *server_ctx_), nullptr);
  EXPECT_EQ(server_ctx_->crl_counters->stale_admitted.load(), 1u);
  EXPECT_EQ(server_ctx_->crl_counters->stale_refused.load(), 0u);
  // Counted per peer, on the context that let it in.
  conn_.reset();
  MemoryConnection second(*server_ctx_, *client_ctx_, "localhost");
  EXPECT_TRUE(second.handshake().ok());
  EXPECT_EQ(server_ctx_->crl_counters->stale_admitted.load(), 2u);
}

TEST_F(ContextCrlTest, StaleCrlUnderWarnStillRefusesTheCertificatesItLists) {
  auto crl = stale_crl({client_leaf_.cert.get()});
  auto r = connect();
  EXPECT_FALSE(r.server_ok);
  auto leaf = pki::describe(client_leaf_.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(r.server_error,
            std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress +
                " failed verification: certificate revoked: its issuer " + leaf.issuer +
                " revoked it (serial " + leaf.serial_hex + ") in the CRL " + crl.string() +
                " of ssl.policy.srv.revoked_dir; the client needs a new "
                "certificate if it should keep its access");
  EXPECT_EQ(server_ctx_->crl_counters->stale_admitted.load(), 0u);
  // Another client of the same CA still gets in on that CRL.
  auto other = test::make_leaf(ca_, {"app2"}, false, true);
  test::write_cert(client_.public_certificate, other.cert.get());
  test::write_key(client_.private_key, other.key.get());
  EXPECT_TRUE(connect().ok());
}

TEST_F(ContextCrlTest, StaleCrlUnderRejectRefusesNamingFileAndDate) {
  auto file = stale_crl();
  server_.stale_crl = config::StaleCrl::kReject;
  auto r = connect();
  EXPECT_FALSE(r.server_ok);
  EXPECT_EQ(
      r.server_error,
      stale_refusal(std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress,
                    file, server_));
  EXPECT_EQ(SSL_get_verify_result(conn_->server()), X509_V_ERR_CRL_HAS_EXPIRED);
  const CrlFile* refusing = refusing_crl(conn_->server(), *server_ctx_);
  ASSERT_NE(refusing, nullptr);
  EXPECT_EQ(refusing->file, file);
  EXPECT_EQ(server_ctx_->crl_counters->stale_refused.load(), 1u);
  EXPECT_EQ(server_ctx_->crl_counters->stale_admitted.load(), 0u);
}

TEST_F(ContextCrlTest, UnderRejectAFreshCrlBesideTheStaleOneLetsPeersIn) {
  stale_crl();
  crl("ca-new.crl", now_ - 1h, now_ + 24h);
  server_.stale_crl = config::StaleCrl::kReject;
  auto r = connect();
  EXPECT_TRUE(r.ok()) << r.server_error;
  EXPECT_EQ(server_ctx_->crl_counters->stale_refused.load(), 0u);
  EXPECT_EQ(server_ctx_->crl_for_issuer(X509_get_subject_name(ca_.ca.cert.get()))->file,
            server_.revoked_dir / "ca-new.crl");
}

TEST_F(ContextCrlTest, UnderRejectPeersOfAnotherIssuerAreNotAffected) {
  auto other = test::make_test_ca("Other CA");
  test::write_crl(server_.revoked_dir / "other.crl", other, {}, now_ - 48h, now_ - 24h);
  server_.stale_crl = config::StaleCrl::kReject;
  auto r = connect();
  EXPECT_TRUE(r.ok()) << r.server_error;
}

TEST_F(ContextCrlTest, CrlFromTheFutureRefusesWithClockAdviceUnderWarnToo) {
  auto file = crl("ahead.crl", now_ + 2h, now_ + 48h);
  auto r = connect();
  EXPECT_FALSE(r.server_ok);
  EXPECT_EQ(r.server_error,
            std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress +
                " refused: the CRL " + file.string() +
                " from CN=CRL CA,O=tlsgate is not valid until " + pki::format_time(now_ + 2h) +
                " (its lastUpdate): this machine's clock is behind, or the CA dated the CRL "
                "ahead; fix the clock (NTP), or put a CRL with a current lastUpdate into " +
                server_.revoked_dir.string());
}

TEST_F(ContextCrlTest, AVerificationOnTheStoreOutsideAHandshakeFollowsTheSamePolicy) {
  auto carol = test::make_leaf(ca_, {"carol"}, false, true);
  stale_crl({carol.cert.get()});
  auto warn = build(server_, Side::kServer);
  EXPECT_EQ(verify_on_store(*warn, client_leaf_.cert.get()), X509_V_OK);
  EXPECT_EQ(verify_on_store(*warn, carol.cert.get()), X509_V_ERR_CERT_REVOKED);

  server_.stale_crl = config::StaleCrl::kReject;
  auto reject = build(server_, Side::kServer);
  EXPECT_EQ(verify_on_store(*reject, client_leaf_.cert.get()), X509_V_ERR_CRL_HAS_EXPIRED);
  // Handshakes are counted, re-checks are not.
  EXPECT_EQ(reject->crl_counters->stale_refused.load(), 0u);
  EXPECT_EQ(warn->crl_counters->stale_admitted.load(), 0u);
}

TEST_F(ContextCrlTest, BackendCertificateUnderAStaleCrl) {
  auto file = crl("ca.crl", now_ - 48h, now_ - 24h, {}, &client_.revoked_dir);
  server_.client_auth = config::ClientAuth::kNone;
  auto warn = connect();
  EXPECT_TRUE(warn.ok()) << warn.client_error;
  EXPECT_EQ(client_ctx_->crl_counters->stale_admitted.load(), 1u);

  client_.stale_crl = config::StaleCrl::kReject;
  auto reject = connect();
  EXPECT_FALSE(reject.client_ok);
  EXPECT_EQ(reject.client_error,
            stale_refusal(
                std::string("backend certificate CN=localhost,O=tlsgate from ") + kServerAddress,
                file, client_));
}

}  // namespace
}  // namespace tlsgate::tls
