// `tlsgate --help`, `tlsgate version`, and exit code 2 for bad usage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class CliBasics : public E2eTest {};

TEST_F(CliBasics, HelpListsTheVerbsAndExitCodes) {
  Proc r = tg("--help");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.out,
              HasSubstr("tlsgate secures the network channels of databases and brokers with TLS"));
  EXPECT_THAT(r.out, HasSubstr("check"));
  EXPECT_THAT(r.out, HasSubstr("cert"));
  EXPECT_THAT(r.out, HasSubstr("version"));
  EXPECT_THAT(
      r.out,
      HasSubstr("Exit codes: 0 fine, 1 a check or connection failed, 2 bad usage or bad config."));
}

TEST_F(CliBasics, VerbHelpShowsTheVerbsOptions) {
  Proc issue = tg("cert issue --help");
  EXPECT_EQ(issue.code, 0) << describe(issue);
  for (const char* opt :
       {"--ca", "--out", "--server", "--client", "--rsa", "--days", "--reuse-key"}) {
    EXPECT_THAT(issue.out, HasSubstr(opt)) << opt;
  }
  Proc check = tg("check --help");
  EXPECT_EQ(check.code, 0) << describe(check);
  EXPECT_THAT(check.out, HasSubstr("--explain"));
  EXPECT_THAT(check.out, HasSubstr("--json"));
  EXPECT_THAT(
      check.out,
      HasSubstr(
          "Exit codes: 0 clean (warnings allowed), 1 problems found, 2 the config is unusable."));
}

TEST_F(CliBasics, HelpVerbIsTheCommandsHelp) {
  // `tlsgate help cert issue` said "--ca is required" before.
  for (const char* words : {"cert issue", "probe", "check"}) {
    Proc help = tg(std::string("help ") + words);
    Proc flag = tg(std::string(words) + " --help");
    EXPECT_EQ(help.code, 0) << words << ": " << describe(help);
    EXPECT_EQ(help.out, flag.out) << words;
  }
  Proc top = tg("help");
  EXPECT_EQ(top.code, 0) << describe(top);
  EXPECT_EQ(top.out, tg("--help").out);
  EXPECT_THAT(top.out, HasSubstr("Run `tlsgate help COMMAND`"));
}

TEST_F(CliBasics, VersionPrintsTlsgateAndOpensslVersions) {
  Proc r = tg("version");
  EXPECT_EQ(r.code, 0) << describe(r);
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 2U) << r.out;
  EXPECT_THAT(ls[0], testing::MatchesRegex("tlsgate [0-9]+\\.[0-9]+\\.[0-9]+ \\(git "
                                           "([0-9a-f]+(\\+dirty)?|unknown)\\)"));
  EXPECT_THAT(ls[1], StartsWith("OpenSSL 3."));
  // The library the binary runs with is the one the openssl CLI reports.
  EXPECT_THAT(shell("openssl version").out, HasSubstr(ls[1]));
}

// Built from a git tree (as ctest runs it), the revision is HEAD's, and
// "+dirty" exactly when tracked files have changes.
TEST_F(CliBasics, VersionNamesTheGitRevision) {
  const std::string git = "git -C " + q(TLSGATE_SOURCE_DIR) + " ";
  Proc head = shell(git + "rev-parse --short HEAD");
  if (head.code != 0) GTEST_SKIP() << "not a git tree: " << describe(head);
  Proc status = shell(git + "status --porcelain --untracked-files=no");
  ASSERT_EQ(status.code, 0) << describe(status);
  Proc r = tg("version");
  ASSERT_EQ(r.code, 0) << describe(r);
  auto first = lines(r.out).at(0);
  const std::string want = "(git " + trim(head.out);
  if (trim(status.out).empty()) {
    EXPECT_THAT(first, EndsWith(want + ")")) << "rebuild after committing?";
  } else {
    EXPECT_THAT(first, EndsWith(want + "+dirty)")) << status.out;
  }
}

TEST_F(CliBasics, UnknownVerbIsBadUsage) {
  Proc r = tg("frobnicate");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.out.find("written"), std::string::npos);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(CliBasics, MissingOrUnknownSubcommandIsBadUsage) {
  EXPECT_EQ(tg("").code, 2);
  EXPECT_EQ(tg("cert").code, 2);
  EXPECT_EQ(tg("cert frobnicate").code, 2);
  EXPECT_EQ(tg("check --no-such-flag").code, 2);
  EXPECT_EQ(tg("cert inspect").code, 2);
}

}  // namespace
}  // namespace tlsgate::e2e
