#include "config/value_parsers.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

// "ok" or "problem; fix", so a table can hold both outcomes.
template <typename T>
std::string outcome(const Parsed<T>& p) {
  return p ? "ok" : p.error().problem + "; " + p.error().fix;
}

TEST(ConfigValueParsers, Bool) {
  for (const char* yes : {"true", "TRUE", "Yes", "on", "1"})
    EXPECT_EQ(parse_bool(yes), true) << yes;
  for (const char* no : {"false", "False", "NO", "off", "0"})
    EXPECT_EQ(parse_bool(no), false) << no;
  EXPECT_EQ(outcome(parse_bool("perhaps")), "\"perhaps\" is not a boolean; use true or false");
}

TEST(ConfigValueParsers, Duration) {
  struct DurationText {
    const char* text;
    double seconds;
  };
  const DurationText good[] = {{"10", 10},    {"0.5", 0.5}, {"500ms", 0.5},
                               {"30s", 30},   {"5m", 300},  {"1h", 3600},
                               {"1d", 86400}, {"2 S", 2},   {"1.5m", 90}};
  for (const auto& c : good) {
    auto d = parse_duration(c.text, false);
    ASSERT_TRUE(d) << c.text;
    EXPECT_DOUBLE_EQ(d->count(), c.seconds) << c.text;
  }
  const std::string not_a_duration =
      " is not a duration; use seconds (10, 0.5) or a unit (500ms, 30s, 5m)";
  for (const char* bad : {"ten", "-1", "5.", ".5", "10 minutes", "1e3", "s"}) {
    EXPECT_EQ(outcome(parse_duration(bad, false)), "\"" + std::string(bad) + "\"" + not_a_duration);
  }
  EXPECT_EQ(outcome(parse_duration("0", false)),
            "\"0\" is not a positive duration; use a duration above 0, such as 10 or 500ms");
  EXPECT_EQ(parse_duration("0ms", true)->count(), 0.0);
}

TEST(ConfigValueParsers, Count) {
  EXPECT_EQ(parse_count("42", 1, 100), 42u);
  EXPECT_EQ(outcome(parse_count("ten", 1, 100)),
            "\"ten\" is not a whole number; use a whole number from 1 to 100");
  EXPECT_EQ(outcome(parse_count("-1", 0, 100)),
            "\"-1\" is not a whole number; use a whole number from 0 to 100");
  EXPECT_EQ(outcome(parse_count("0", 1, 100)), "0 is out of range; use a number from 1 to 100");
  EXPECT_EQ(outcome(parse_count("99999999999999999999999", 0, 1024)),
            "99999999999999999999999 is out of range; use a number from 0 to 1024");
}

TEST(ConfigValueParsers, Address) {
  struct Good {
    const char* text;
    HostPort want;
  };
  const Good good[] = {{"db.local:5432", {"db.local", 5432}},
                       {"10.0.0.1:1", {"10.0.0.1", 1}},
                       {"[::1]:7687", {"::1", 7687}},
                       {":7687", {"", 7687}},
                       {"0.0.0.0:65535", {"0.0.0.0", 65535}}};
  for (const auto& c : good) EXPECT_EQ(parse_address(c.text), c.want) << c.text;

  const std::string fix = "; write it as host:port, [ipv6]:port or :port";
  for (const char* bad : {"localhost", "7687", "::1:7687", "[::1]7687", "[::1:7687",
                          "host:", "host:http", "a b:1", "[v4]:1"}) {
    EXPECT_EQ(outcome(parse_address(bad)), "\"" + std::string(bad) + "\" is not host:port" + fix)
        << bad;
  }
  EXPECT_EQ(outcome(parse_address("db:70000")),
            "port 70000 is out of range; use a port from 1 to 65535");
  EXPECT_EQ(outcome(parse_address("db:0")), "port 0 is out of range; use a port from 1 to 65535");
  EXPECT_EQ(outcome(parse_address("[::]:99999999999999999999")),
            "port 99999999999999999999 is out of range; use a port from 1 to 65535");
}

TEST(ConfigValueParsers, Enum) {
  const std::vector<std::string> auth{"NONE", "OPTIONAL", "REQUIRE"};
  EXPECT_EQ(parse_enum("require", auth), "REQUIRE");
  EXPECT_EQ(parse_enum(" Optional ", auth), "OPTIONAL");
  EXPECT_EQ(outcome(parse_enum("MAYBE", auth)),
            "\"MAYBE\" is not a valid value; use one of NONE, OPTIONAL, REQUIRE");
  // "off" answers to the ways people write "no".
  const std::vector<std::string> proxy{"off", "v2"};
  for (const char* off : {"off", "OFF", "none", "false", "no"})
    EXPECT_EQ(parse_enum(off, proxy), "off") << off;
  EXPECT_EQ(parse_enum("V2", proxy), "v2");
  EXPECT_EQ(outcome(parse_enum("none", auth)), "ok");
}

TEST(ConfigValueParsers, List) {
  KeyDoc identities{.pattern = "x", .type = ValueType::kList};
  EXPECT_EQ(parse_list("CN=a,O=b; CN=c,O=d ;", identities),
            (std::vector<std::string>{"CN=a,O=b", "CN=c,O=d"}));
  EXPECT_EQ(parse_list("", identities), std::vector<std::string>{});

  KeyDoc versions{.pattern = "v",
                  .type = ValueType::kList,
                  .allowed = {"TLSv1.2", "TLSv1.3"},
                  .min = 1,
                  .comma_ok = true};
  EXPECT_EQ(parse_list("tlsv1.3, TLSV1.2", versions),
            (std::vector<std::string>{"TLSv1.3", "TLSv1.2"}));
  EXPECT_EQ(parse_list("TLSv1.3;", versions), (std::vector<std::string>{"TLSv1.3"}));
  EXPECT_EQ(outcome(parse_list("TLSv1.3,TLSv1.1", versions)),
            "\"TLSv1.1\" is not a valid value; use one of TLSv1.2, TLSv1.3");
  EXPECT_EQ(outcome(parse_list(" ; ", versions)), "is empty; use one or more of TLSv1.2, TLSv1.3");
}

TEST(ConfigValueParsers, ValueByTypeRejectsEmptyExceptSecretsAndLists) {
  const KeyDoc path{.pattern = "p", .type = ValueType::kPath};
  EXPECT_EQ(outcome(parse_value(path, "  ")), "has no value; give it a value or remove it");
  const KeyDoc secret{.pattern = "s", .type = ValueType::kSecret};
  ASSERT_TRUE(parse_value(secret, ""));
  const KeyDoc list{.pattern = "l", .type = ValueType::kList};
  EXPECT_EQ(std::get<std::vector<std::string>>(*parse_value(list, "")), std::vector<std::string>{});
  const KeyDoc count{.pattern = "c", .type = ValueType::kCount, .min = 1, .max = 10};
  EXPECT_EQ(std::get<uint64_t>(*parse_value(count, " 7 ")), 7u);
}

}  // namespace
}  // namespace tlsgate::config
