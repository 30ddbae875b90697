// net/probe_plaintext.h with byte vectors: TLS record headers are left
// alone, plaintext answers are named, and the sentence says what to do.
#include "net/probe_plaintext.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support/bytes.h"

namespace tlsgate::net {
namespace {

using tlsgate::test::bytes;

TEST(PlaintextProtocol, TlsRecordsAndNothingAreNotPlaintext) {
  EXPECT_EQ(plaintext_protocol(""), std::nullopt);
  EXPECT_EQ(plaintext_protocol(bytes({0x16, 0x03, 0x03, 0x00, 0x7a})), std::nullopt);  // handshake
  EXPECT_EQ(plaintext_protocol(bytes({0x15, 0x03, 0x01, 0x00, 0x02})), std::nullopt);  // alert
  EXPECT_EQ(plaintext_protocol(bytes({0x14, 0x03, 0x03})), std::nullopt);  // change_cipher_spec
  EXPECT_EQ(plaintext_protocol(bytes({0x16})), std::nullopt);              // too short to judge
  EXPECT_EQ(plaintext_protocol(bytes({0x80, 0x2e, 0x02})), std::nullopt);  // SSLv2-shaped
}

TEST(PlaintextProtocol, NamesWhatItLooksLike) {
  EXPECT_EQ(plaintext_protocol("HTTP/1.1 400 Bad Request\r\n"), "HTTP");
  EXPECT_EQ(plaintext_protocol("HTTP/"), "HTTP");
  EXPECT_EQ(plaintext_protocol("INFO {\"server_id\":\"x\"}\r\n"), "NATS");
  EXPECT_EQ(plaintext_protocol("-ERR 'Unknown Protocol Operation'\r\n"), "NATS or Redis");
  EXPECT_EQ(plaintext_protocol("SSH-2.0-OpenSSH_9.6\r\n"), "SSH");
  EXPECT_EQ(plaintext_protocol("220 mail.example.com ESMTP\r\n"), "SMTP or FTP");
  EXPECT_EQ(plaintext_protocol("* OK IMAP4rev1 ready\r\n"), "IMAP");
  EXPECT_EQ(plaintext_protocol("+OK POP3 ready\r\n"), "POP3");
  EXPECT_EQ(plaintext_protocol(bytes({0x4a, 0x00, 0x00, 0x00, 0x0a})), "MySQL/MariaDB");
  EXPECT_EQ(plaintext_protocol(bytes({0x17, 0x00, 0x00, 0x00, 0xff})), "MySQL/MariaDB");  // error
  // A greeting of 128 bytes or more: its length's low byte has the top bit set, as an
  // SSLv2 record's first byte does.
  EXPECT_EQ(plaintext_protocol(bytes({0x8c, 0x00, 0x00, 0x00, 0x0a})), "MySQL/MariaDB");
  EXPECT_EQ(plaintext_protocol("hello there\n"), "plain text");
  // The content type of a record, a wrong major version: not TLS either.
  EXPECT_EQ(plaintext_protocol(bytes({0x16, 0x48})), "a protocol other than TLS");
  EXPECT_EQ(plaintext_protocol(bytes({0x00, 0x01, 0x02})), "a protocol other than TLS");
}

TEST(ExplainPlaintextPeer, SaysWhatItIsAndWhatToDo) {
  EXPECT_EQ(explain_plaintext_peer("HTTP/1.1 400 Bad Request\r\nServer: x\r\n", "web:443", false),
            "web:443 answered with plaintext, not TLS (looks like HTTP: \"HTTP/1.1 400 Bad "
            "Request\"): is this a plaintext port? Probe the service's TLS port (--starttls "
            "covers postgres, mysql and nats only)");
  EXPECT_EQ(explain_plaintext_peer("hello\n", "x:1", false),
            "x:1 answered with plaintext, not TLS (looks like plain text: \"hello\"): is this a "
            "plaintext port? For STARTTLS protocols use --starttls postgres|mysql|nats");
  EXPECT_EQ(explain_plaintext_peer("INFO {}\r\n", "nats:4222", false),
            "nats:4222 answered with plaintext, not TLS (looks like NATS: \"INFO {}\"): is this a "
            "plaintext port? For NATS use --starttls nats");
  EXPECT_EQ(explain_plaintext_peer(bytes({0x4a, 0x00, 0x00, 0x00, 0x0a}), "db:3306", false),
            "db:3306 answered with plaintext, not TLS (looks like MySQL/MariaDB): is this a "
            "plaintext port? For MySQL/MariaDB use --starttls mysql");
  EXPECT_EQ(explain_plaintext_peer("-ERR x\r\n", "nats:4222", true),
            "nats:4222 answered with plaintext, not TLS (looks like NATS or Redis: \"-ERR x\") "
            "after the STARTTLS exchange; the server did not switch to TLS");
}

TEST(ExplainPlaintextPeer, PeerTextIsEscapedAndCut) {
  std::string line = "HTTP/1.1 200 " + std::string(100, 'a') + "\x1b[31m\r\n";
  std::string s = explain_plaintext_peer(line, "p:1", false);
  EXPECT_NE(s.find("\"HTTP/1.1 200 " + std::string(47, 'a') + "...\""), std::string::npos) << s;
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
  // Quotes and backslashes cannot end the quoted text early.
  EXPECT_NE(
      explain_plaintext_peer("HTTP/1.1 \"x\\\r\n", "p:1", false).find("\"HTTP/1.1 \\x22x\\x5c\""),
      std::string::npos);
  EXPECT_EQ(plaintext_protocol("ok \x1b[31m\n"), "a protocol other than TLS");
}

}  // namespace
}  // namespace tlsgate::net
