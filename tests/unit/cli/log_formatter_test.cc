#include "cli/log_formatter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/log_fields.h"

namespace tlsgate::cli {
namespace {

// What a peer can choose: a certificate CN or a database user name with a
// quote, a line break that starts a fake record, an escape sequence, a NUL
// and bytes that are not UTF-8.
const std::string kHostile =
    std::string("app\" \"level\":\"error\n2030-01-01 00:00:00.000 error FORGED\r\t\x1b[31m") +
    std::string(1, '\0') + "\xff\xfe end";

std::string render(config::LogFormat format, const std::string& message) {
  LogFormatter f(format);
  spdlog::details::log_msg msg("tlsgate", spdlog::level::info,
                               spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  return std::string(buf.data(), buf.size());
}

TEST(LogFormatter, TextRecordIsOneLineWithControlBytesEscaped) {
  std::string line = render(config::LogFormat::kText, "identity \"" + kHostile + "\"");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_NE(
      line.find(
          R"( info identity "app" "level":"error\n2030-01-01 00:00:00.000 error FORGED\r\t\x1b[31m\x00)"),
      std::string::npos)
      << line;
}

// A peer's name that reverses the rest of the line (U+202E) or carries a C1
// CSI (U+009B) reads as its bytes in a text record; other UTF-8 as it is.
TEST(LogFormatter, TextRecordShowsBidiAndC1ControlsAsBytes) {
  std::string line = render(config::LogFormat::kText,
                            "identity \"CN=db1, O=\xc3\x9cn\xc3\xaf"
                            "code\xe2\x80\xaetxt.exe\xc2\x9b"
                            "2J\"");
  EXPECT_NE(line.find(R"(identity "CN=db1, O=Ünïcode\xe2\x80\xaetxt.exe\xc2\x9b2J")"),
            std::string::npos)
      << line;
}

TEST(LogFormatter, JsonRecordParsesAndKeepsTheMessageWhole) {
  std::string line = render(config::LogFormat::kJson, kHostile);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  auto record = nlohmann::json::parse(line);  // throws (fails the test) on invalid JSON
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record.size(), 3U);
  EXPECT_EQ(record["level"], "info");
  EXPECT_TRUE(record["time"].get<std::string>().find('T') != std::string::npos);
  // Everything up to the bytes that are not UTF-8 survives verbatim; those
  // become U+FFFD instead of breaking the record.
  std::string message = record["message"];
  EXPECT_EQ(message.substr(0, kHostile.size() - 6), kHostile.substr(0, kHostile.size() - 6));
  EXPECT_NE(message.find("\xef\xbf\xbd"), std::string::npos);
}

// The connection a record is about travels beside the message: fields in
// JSON (the identity a peer chose stays a string), nothing added to text,
// and nothing once the logging call's scope has ended.
TEST(LogFormatter, JsonRecordCarriesTheFieldsOfTheLoggingCall) {
  const std::string identity = "app\" \"level\":\"error\n";
  std::string json, text;
  {
    const util::LogFields fields{.connector = "pg",
                                 .client = "127.0.0.1:50000",
                                 .identity = identity,
                                 .reason = "identity_not_allowed"};
    util::ScopedLogFields scope(fields);
    json = render(config::LogFormat::kJson, "connector pg: client 127.0.0.1:50000: refused");
    text = render(config::LogFormat::kText, "connector pg: client 127.0.0.1:50000: refused");
  }
  auto record = nlohmann::json::parse(json);
  EXPECT_EQ(record.size(), 7U) << json;
  EXPECT_EQ(record["connector"], "pg");
  EXPECT_EQ(record["client"], "127.0.0.1:50000");
  EXPECT_EQ(record["identity"], identity);
  EXPECT_EQ(record["reason"], "identity_not_allowed");
  EXPECT_EQ(record["message"], "connector pg: client 127.0.0.1:50000: refused");
  EXPECT_TRUE(text.ends_with(" info connector pg: client 127.0.0.1:50000: refused\n")) << text;

  util::LogFields some;
  some.connector = "pg";
  some.client = "[::1]:5";
  util::ScopedLogFields partial(some);
  record = nlohmann::json::parse(render(config::LogFormat::kJson, "x"));
  EXPECT_EQ(record.size(), 5U) << record.dump();
  EXPECT_FALSE(record.contains("identity"));
  EXPECT_FALSE(record.contains("reason"));
}

TEST(LogFormatter, JsonRecordOutsideAConnectionHasNoFields) {
  {
    util::LogFields ended;
    ended.connector = "pg";
    util::ScopedLogFields scope(ended);
  }
  auto record = nlohmann::json::parse(render(config::LogFormat::kJson, "started"));
  EXPECT_EQ(record.size(), 3U) << record.dump();
}

}  // namespace
}  // namespace tlsgate::cli
