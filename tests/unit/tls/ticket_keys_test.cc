#include "tls/ticket_keys.h"

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using testing::MemoryConnection;

// The first 16 bytes of a ticket name the key that sealed it.
constexpr size_t kKeyNameSize = 16;

std::string ticket_of(const SSL_SESSION* session) {
  const unsigned char* tick = nullptr;
  size_t len = 0;
  SSL_SESSION_get0_ticket(session, &tick, &len);
  return std::string(reinterpret_cast<const char*>(tick), len);
}

// A copy of session whose ticket has `edit` applied; null when the ticket
// cannot be found in the session's DER (OpenSSL has no ticket setter).
SslSessionPtr with_edited_ticket(const SSL_SESSION* session, void (*edit)(std::string&)) {
  std::string ticket = ticket_of(session);
  int len = i2d_SSL_SESSION(session, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_SSL_SESSION(session, &out);
  size_t at = der.find(ticket);
  if (ticket.empty() || at == std::string::npos) return nullptr;
  std::string edited = ticket;
  edit(edited);
  der.replace(at, ticket.size(), edited);
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  return SslSessionPtr(d2i_SSL_SESSION(nullptr, &in, static_cast<long>(der.size())));
}

std::shared_ptr<TicketKeys> new_keys() {
  auto keys = TicketKeys::create();
  if (!keys) throw std::runtime_error(keys.error().message());
  return *keys;
}

class TicketKeysTest : public testing::TlsTest {
 protected:
  TicketKeysTest() : TlsTest("Ticket CA") {}

  // A server context under `tickets` (null: OpenSSL's own per-context keys),
  // as a reload builds it.
  std::shared_ptr<const Context> server(std::shared_ptr<TicketKeys> tickets) {
    BuildOptions options;
    options.tickets = std::move(tickets);
    return build(server_, Side::kServer, options);
  }
  std::shared_ptr<const Context> client() {
    if (!client_ctx_) client_ctx_ = build(client_, Side::kClient);
    return client_ctx_;
  }

  // One connection; *resumed says whether `resume` was taken. Returns the
  // session the client holds afterwards (with the ticket it was sent).
  SslSessionPtr connect(const Context& server, SSL_SESSION* resume, bool* resumed) {
    MemoryConnection conn(server, *client(), "localhost", resume);
    auto outcome = conn.handshake();
    EXPECT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
    EXPECT_EQ(conn.server_to_client("tickets first, then this"), "");
    *resumed = conn.resumed();
    return conn.session();
  }

  // A full handshake's session, with a ticket.
  SslSessionPtr first_session(const Context& server) {
    bool resumed = true;
    auto session = connect(server, nullptr, &resumed);
    EXPECT_FALSE(resumed);
    EXPECT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
    EXPECT_GT(ticket_of(session.get()).size(), kKeyNameSize);
    return session;
  }

  bool resumes(const Context& server, SSL_SESSION* session) {
    bool resumed = false;
    connect(server, session, &resumed);
    return resumed;
  }

  std::shared_ptr<const Context> client_ctx_;
};

TEST_F(TicketKeysTest, TicketFromTheCurrentKeyResumes) {
  auto keys = new_keys();
  auto srv = server(keys);
  auto session = first_session(*srv);
  bool resumed = false;
  auto renewed = connect(*srv, session.get(), &resumed);
  EXPECT_TRUE(resumed);
  // TLS 1.3 clients use a ticket once: each resumption brings a fresh one.
  EXPECT_NE(ticket_of(renewed.get()), ticket_of(session.get()));
  EXPECT_TRUE(resumes(*srv, renewed.get()));
}

TEST_F(TicketKeysTest, TicketsOutliveAReloadOnlyUnderSharedKeys) {
  auto keys = new_keys();
  auto session = first_session(*server(keys));
  EXPECT_TRUE(resumes(*server(keys), session.get())) << "a rebuilt context under the same keys";
  // The check can fail: OpenSSL's own keys are new with every context.
  auto own = first_session(*server(nullptr));
  EXPECT_FALSE(resumes(*server(nullptr), own.get()));
}

// Every policy's tickets are sealed with the same keys: the session ID
// context keeps them apart. It was the scope cut to 32 bytes, so two long
// scopes with a common start shared tickets (review s23, security finding 3).
TEST_F(TicketKeysTest, TicketsDoNotCrossPoliciesWhoseNamesShareTheirStart) {
  auto keys = new_keys();
  const std::string common = "database_cluster_connections_of_";  // 32 bytes
  server_.scope = common + "the_open_side";
  auto session = first_session(*server(keys));
  EXPECT_TRUE(resumes(*server(keys), session.get()));
  server_.scope = common + "the_strict_side";
  EXPECT_FALSE(resumes(*server(keys), session.get()));
}

TEST_F(TicketKeysTest, OneRotationKeepsTicketsTwoEndThem) {
  auto keys = new_keys();
  auto srv = server(keys);
  auto session = first_session(*srv);
  auto before_rotation = first_session(*srv);
  ASSERT_TRUE(keys->rotate());
  // The previous key still opens tickets, and the client gets one under the
  // current key in exchange.
  bool resumed = false;
  auto exchanged = connect(*srv, session.get(), &resumed);
  EXPECT_TRUE(resumed);
  EXPECT_NE(ticket_of(exchanged.get()).substr(0, kKeyNameSize),
            ticket_of(session.get()).substr(0, kKeyNameSize));
  ASSERT_TRUE(keys->rotate());
  EXPECT_FALSE(resumes(*srv, before_rotation.get())) << "two rotations old: a full handshake";
  EXPECT_TRUE(resumes(*srv, exchanged.get())) << "sealed under the now previous key";
}

TEST_F(TicketKeysTest, TicketOfOtherKeysIsNotResumedButTheHandshakeWorks) {
  auto session = first_session(*server(new_keys()));
  bool resumed = true;
  auto fresh = connect(*server(new_keys()), session.get(), &resumed);
  EXPECT_FALSE(resumed);
  EXPECT_TRUE(fresh && SSL_SESSION_is_resumable(fresh.get()));
}

TEST_F(TicketKeysTest, ForgedTicketsAreRejected) {
  auto keys = new_keys();
  auto srv = server(keys);
  auto session = first_session(*srv);
  auto unknown_name = with_edited_ticket(session.get(), [](std::string& t) { t[0] ^= 0x01; });
  auto bad_mac = with_edited_ticket(session.get(), [](std::string& t) { t.back() ^= 0x01; });
  auto bad_body = with_edited_ticket(session.get(), [](std::string& t) { t[40] ^= 0x01; });
  ASSERT_TRUE(unknown_name && bad_mac && bad_body);
  EXPECT_FALSE(resumes(*srv, unknown_name.get())) << "a key name we never issued";
  EXPECT_FALSE(resumes(*srv, bad_mac.get())) << "a ticket whose HMAC does not match";
  EXPECT_FALSE(resumes(*srv, bad_body.get())) << "a ticket changed inside";
  EXPECT_TRUE(resumes(*srv, session.get())) << "the genuine ticket still works";
}

TEST_F(TicketKeysTest, Tls12ResumesAcrossARotationToo) {
  server_.tls_versions = {"TLSv1.2"};
  auto keys = new_keys();
  auto srv = server(keys);
  auto session = first_session(*srv);
  EXPECT_EQ(SSL_SESSION_get_protocol_version(session.get()), TLS1_2_VERSION);
  EXPECT_TRUE(resumes(*srv, session.get()));
  ASSERT_TRUE(keys->rotate());
  EXPECT_TRUE(resumes(*srv, session.get()));
  ASSERT_TRUE(keys->rotate());
  EXPECT_FALSE(resumes(*srv, session.get()));
}

}  // namespace
}  // namespace tlsgate::tls
