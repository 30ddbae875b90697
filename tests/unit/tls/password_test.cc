#include "tls/password.h"

#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pki/encode.h"
#include "support/process.h"
#include "tls/context.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using util::Secret;

constexpr char kKey[] = "ssl.policy.srv.private_key_password";

TEST(IsCommandPassword, OnlyAWholeDollarParenthesisIsACommand) {
  EXPECT_TRUE(is_command_password(Secret("$(cat /run/secrets/key)")));
  EXPECT_TRUE(is_command_password(Secret("$(x)")));
  EXPECT_FALSE(is_command_password(Secret("$()")));  // nothing to run
  EXPECT_FALSE(is_command_password(Secret("p$(x)")));
  EXPECT_FALSE(is_command_password(Secret("$(x) ")));
  EXPECT_FALSE(is_command_password(Secret("$(x")));
  EXPECT_FALSE(is_command_password(Secret("hunter2")));
  EXPECT_FALSE(is_command_password(Secret("")));
}

class PasswordTest : public ::testing::Test {
 protected:
  PasswordTest() { policy_.scope = "srv"; }

  // resolve_password() of `password` with --expand-commands.
  util::Result<std::optional<Secret>> expand(const std::string& password) {
    policy_.private_key_password = Secret(password);
    return resolve_password(policy_, true);
  }
  std::string expanded(const std::string& password) {
    auto r = expand(password);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || !*r) return "(none)";
    return (*r)->reveal();
  }
  std::string error_of(const std::string& password) {
    auto r = expand(password);
    EXPECT_FALSE(r) << password;
    return r ? std::string() : r.error().message();
  }

  test::TempDir dir_;
  config::Policy policy_;
};

TEST_F(PasswordTest, NoPasswordAndPlainPasswordsPassThrough) {
  auto none = resolve_password(policy_, false);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  policy_.private_key_password = Secret("plain $ (not a command)");
  for (bool expand_commands : {false, true}) {
    auto plain = resolve_password(policy_, expand_commands);
    ASSERT_TRUE(plain && plain->has_value());
    EXPECT_EQ((*plain)->reveal(), "plain $ (not a command)");
  }
}

TEST_F(PasswordTest, CommandIsRefusedWithoutExpandCommands) {
  test::write_text(dir_ / "marker-source", "ran\n");
  policy_.private_key_password =
      Secret("$(cp " + test::q(dir_ / "marker-source") + " " + test::q(dir_ / "marker") + ")");
  auto r = resolve_password(policy_, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), std::string(kKey) +
                                     ": is a $(command), which runs only when tlsgate is started "
                                     "with --expand-commands; add the flag, or write the password "
                                     "itself");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "marker")) << "the command ran anyway";
}

TEST_F(PasswordTest, CommandOutputIsThePasswordWithoutTrailingNewlines) {
  test::write_text(dir_ / "password.txt", "correct horse\n", 0600);
  EXPECT_EQ(expanded("$(cat " + test::q(dir_ / "password.txt") + ")"), "correct horse");
  EXPECT_EQ(expanded("$(printf ' two\\nlines \\r\\n\\n')"), " two\nlines ");
  EXPECT_EQ(expanded("$(true)"), "");
}

TEST_F(PasswordTest, FailedCommandsSayHowTheyEndedButNotWhatTheyPrinted) {
  const std::string advice = "; run it by hand to see why";
  EXPECT_EQ(error_of("$(echo hunter2; exit 3)"),
            std::string(kKey) + ": the $(command) failed (exit status 3)" + advice);
  EXPECT_EQ(error_of("$(no-such-command-for-tlsgate 2>/dev/null)"),
            std::string(kKey) + ": the $(command) failed (exit status 127)" + advice);
  EXPECT_EQ(error_of("$(echo hunter2; kill -KILL $$)"),
            std::string(kKey) + ": the $(command) failed (exit status -1)" + advice);
}

TEST_F(PasswordTest, OutputOverTheLimitIsNamedAsSuchNotAsAFailedCommand) {
  // 100 KiB: past the 64 KiB limit; the command must still end normally.
  EXPECT_EQ(error_of("$(head -c 102400 /dev/zero | tr '\\0' x)"),
            std::string(kKey) +
                ": the $(command) printed more than 64 KiB; it must print only the password");
  EXPECT_EQ(expanded("$(head -c 65536 /dev/zero | tr '\\0' x)").size(), 65536U);
}

TEST_F(PasswordTest, TheExpandedPasswordIsRedactedWhereverItIsPrinted) {
  auto r = expand("$(echo hunter2)");
  ASSERT_TRUE(r && r->has_value());
  const Secret& secret = **r;
  EXPECT_EQ(secret.reveal(), "hunter2");
  std::ostringstream streamed;
  streamed << secret;
  EXPECT_EQ(streamed.str(), "<redacted>");
  EXPECT_EQ(fmt::format("password {}", secret), "password <redacted>");
  // The command itself is a secret too: the policy prints it redacted.
  std::ostringstream policy;
  policy << *policy_.private_key_password;
  EXPECT_EQ(policy.str(), "<redacted>");
}

// The whole path: an encrypted key opened with the password a command prints.
TEST_F(PasswordTest, EncryptedKeyOpensWithTheCommandsPassword) {
  auto ca = test::make_test_ca("Password CA");
  auto leaf = test::make_leaf(ca, {"localhost"});
  auto policy = testing::make_policy(dir_.path(), "srv", ca, leaf);
  ASSERT_TRUE(
      pki::write_private_key(policy.private_key, leaf.key.get(), 0600, Secret("s3cret-pass")));
  test::write_text(dir_ / "pass", "s3cret-pass\n", 0600);
  policy.private_key_password = Secret("$(cat " + test::q(dir_ / "pass") + ")");
  BuildOptions expand;
  expand.expand_commands = true;
  auto ctx = build_context(policy, Side::kServer, expand, util::SystemClock::instance());
  EXPECT_TRUE(ctx) << ctx.error().message();

  test::write_text(dir_ / "pass", "wrong-pass\n", 0600);
  ctx = build_context(policy, Side::kServer, expand, util::SystemClock::instance());
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message().rfind("ssl.policy.srv.private_key: ", 0), 0u)
      << ctx.error().message();
  EXPECT_EQ(ctx.error().message().find("wrong-pass"), std::string::npos) << ctx.error().message();
}

}  // namespace
}  // namespace tlsgate::tls
