#include "config/properties.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

struct Parsed {
  std::string key;
  std::string value;
  int line;
  bool operator==(const Parsed&) const = default;
};

std::vector<Parsed> entries_of(std::string_view text) {
  std::vector<Parsed> out;
  for (const auto& e : parse_properties(text, "t.conf").entries)
    out.push_back({e.key, e.value, e.where.line});
  return out;
}

TEST(ConfigProperties, ParsesLinesInOrder) {
  struct Case {
    std::string text;
    std::vector<Parsed> want;
  };
  const Case cases[] = {
      {"a=1\nb = two \n", {{"a", "1", 1}, {"b", "two", 2}}},
      {"# comment\n! also\n\n  c=3", {{"c", "3", 4}}},
      {"k=v=w", {{"k", "v=w", 1}}},
      {"k=", {{"k", "", 1}}},
      {"pw=se#cret", {{"pw", "se#cret", 1}}},
      {"crlf=x\r\nnext=y\r\n", {{"crlf", "x", 1}, {"next", "y", 2}}},
      {"\xEF\xBB\xBF"
       "bom=1",
       {{"bom", "1", 1}}},
      {"list=a;\\\n    b;\\\n    c\nafter=1", {{"list", "a;b;c", 1}, {"after", "1", 4}}},
      {"even=C:\\\\\nnext=1", {{"even", "C:\\\\", 1}, {"next", "1", 2}}},
      {"tail=a\\", {{"tail", "a", 1}}},
  };
  for (const auto& c : cases) EXPECT_EQ(entries_of(c.text), c.want) << c.text;
}

TEST(ConfigProperties, LineWithoutEqualsIsADiagnostic) {
  auto parsed = parse_properties("a=1\nssl.policy.bolt.enabled true\n=x\n", "t.conf");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.diagnostics.size(), 2u);
  EXPECT_EQ(format(parsed.diagnostics[0]),
            "t.conf:2: line has no '='; write key=value, or start a comment with #");
  EXPECT_EQ(format(parsed.diagnostics[1]), "t.conf:3: line has no key before '='; write key=value");
}

// The README once showed `key=value   # note`: the note is part of the value,
// which a warning says (an identity list silently lost its last name).
TEST(ConfigProperties, ATrailingCommentIsPartOfTheValueAndWarnedAbout) {
  auto parsed = parse_properties(
      "ssl.policy.pg.allowed_identities=app1;app2   # only these clients\n"
      "a=b#c\n"
      "ssl.policy.pg.private_key_password=pass #1\n",
      "t.conf");
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_EQ(parsed.entries[0].value, "app1;app2   # only these clients");
  ASSERT_EQ(parsed.diagnostics.size(), 1u);  // not `b#c`, and never a password
  EXPECT_EQ(parsed.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(format(parsed.diagnostics[0]),
            "t.conf:1: ssl.policy.pg.allowed_identities: the value holds \" #\" (at its "
            "character 13), which reads like a comment; a comment is a line of its own, so the "
            "rest is part of the value; move the comment to a line above the key");
}

TEST(ConfigProperties, EnvironmentNameMangling) {
  EXPECT_EQ(environment_name("ssl.policy.bolt.base_directory"),
            "TLSGATE_ssl_policy_bolt_base__directory");
  EXPECT_EQ(key_from_environment_name("TLSGATE_ssl_policy_bolt_base__directory"),
            "ssl.policy.bolt.base_directory");
  EXPECT_EQ(key_from_environment_name("TLSGATE_ssl_policy_my__scope_client__auth"),
            "ssl.policy.my_scope.client_auth");
  EXPECT_EQ(key_from_environment_name("TLSGATE_BIN"), std::nullopt);
  EXPECT_EQ(key_from_environment_name("HOME"), std::nullopt);
}

TEST(ConfigProperties, EnvironmentEntries) {
  auto entries = environment_entries(
      {"PATH=/bin", "TLSGATE_BIN=/build/tlsgate", "TLSGATE_server_log__level= debug ",
       "TLSGATE_admin_enabled=true", "TLSGATE_cluster_key__prefix=/a=b"});
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "admin.enabled");
  EXPECT_EQ(entries[1].key, "cluster.key_prefix");
  EXPECT_EQ(entries[1].value, "/a=b");
  EXPECT_EQ(entries[2].key, "server.log_level");
  EXPECT_EQ(entries[2].value, "debug");
  EXPECT_EQ(entries[2].where.file, "environment TLSGATE_server_log__level");
  EXPECT_EQ(entries[2].where.line, 0);
}

}  // namespace
}  // namespace tlsgate::config
