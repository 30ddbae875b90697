// tls/probe_verdict.h: the handshake verdicts `tlsgate probe` prints, from
// the OpenSSL error a refused handshake leaves on the thread's queue.
#include "tls/probe_verdict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tls/ssl_handles.h"

namespace tlsgate::tls {
namespace {

using ::testing::HasSubstr;

class ProbeVerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ERR_clear_error();
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_TRUE(ctx_);
    ssl_.reset(SSL_new(ctx_.get()));
    ASSERT_TRUE(ssl_);
  }
  void TearDown() override { ERR_clear_error(); }
  // The verdict after the peer ended the handshake with `reason` (SSL_R_*).
  ProbeVerdict after(int reason, bool certificate_unanswered) {
    ERR_raise(ERR_LIB_SSL, reason);
    return explain_probe_handshake(ssl_.get(), "db:5432", certificate_unanswered);
  }

  SslCtxPtr ctx_;
  SslPtr ssl_;
};

// TLS 1.2 has no certificate_required alert: OpenSSL's server says
// handshake_failure after its CertificateRequest went unanswered.
TEST_F(ProbeVerdictTest, HandshakeFailureAfterAnUnansweredCertificateRequest) {
  auto v = after(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, true);
  EXPECT_EQ(v.reason, FailureReason::kNoCertificate);
  EXPECT_THAT(v.message, HasSubstr("db:5432 requires a client certificate; pass one with --cert "
                                   "FILE --key FILE (it asked for one, none was sent, and it "
                                   "ended the handshake: "));
  EXPECT_EQ(ERR_peek_error(), 0UL);  // drained
}

TEST_F(ProbeVerdictTest, HandshakeFailureWithoutACertificateRequestIsNoSharedCipher) {
  auto v = after(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, false);
  EXPECT_EQ(v.reason, FailureReason::kNoSharedCipher);
  EXPECT_THAT(v.message, HasSubstr("has no cipher suite or key-exchange group in common"));
}

TEST_F(ProbeVerdictTest, OtherRefusalsOfAMissingCertificate) {
  for (int reason : {SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
                     SSL_R_TLSV1_ALERT_ACCESS_DENIED, SSL_R_UNEXPECTED_EOF_WHILE_READING}) {
    SCOPED_TRACE(reason);
    EXPECT_EQ(after(reason, true).reason, FailureReason::kNoCertificate);
  }
  // A close says least: the verdict says it is the likely reading.
  EXPECT_THAT(after(SSL_R_UNEXPECTED_EOF_WHILE_READING, true).message,
              HasSubstr("--key FILE (most likely: it asked for one, none was sent, and it closed "
                        "the connection)"));
  // Not about certificates: still said as it is.
  EXPECT_EQ(after(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, true).reason,
            FailureReason::kProtocolVersion);
}

}  // namespace
}  // namespace tlsgate::tls
