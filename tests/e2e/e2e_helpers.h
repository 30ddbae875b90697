// Helpers for the command-line end-to-end tests: run the real `tlsgate`
// binary (from $TLSGATE_BIN) and the real `openssl` CLI in a temp folder,
// read files and modes, and compare with what openssl says.
//
// Commands run through test::run_shell (support/process.h), bounded in time,
// stdout and stderr kept apart. A live peer for the network verbs is a
// test::OpensslServer (support/openssl_server.h).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/loopback.h"
#include "support/openssl_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::e2e {

namespace fs = std::filesystem;
using test::free_loopback_port;
using test::OpensslServer;
using test::q;
using test::shell_quote;
using Proc = test::CommandResult;  // code, out (stdout), err (stderr)

// The binary under test; "" when unset.
std::string tlsgate_bin();

std::string read_file(const fs::path& p);  // throws when unreadable

// Runs a shell command line in `cwd` with stdout and stderr kept apart.
Proc sh(const fs::path& cwd, const std::string& cmd);

// `tlsgate ARGS` in cwd; ARGS is a shell fragment (quote paths with q()).
Proc tlsgate(const fs::path& cwd, const std::string& args);

// Exit code, stdout and stderr, for a failed expectation's message.
std::string describe(const Proc& r);

std::vector<std::string> lines(const std::string& text);
// Without trailing newlines and spaces, and leading spaces.
std::string trim(std::string s);
// Permission bits of p (07777), or 0xffffffff when it does not exist.
unsigned mode_of(const fs::path& p);

// Public key of a PEM/DER private key or certificate, as PEM, through openssl.
std::string openssl_pubkey_of_key(const fs::path& dir, const fs::path& key,
                                  const std::string& inform = "PEM");
std::string openssl_pubkey_of_cert(const fs::path& dir, const fs::path& cert);

// The SPKI SHA-256 pin of a certificate per openssl: {hex, base64}.
std::pair<std::string, std::string> openssl_pin(const fs::path& dir, const fs::path& cert);

// The serial as openssl prints it, in tlsgate's spelling: lower case, no leading zeros.
std::string openssl_serial(const fs::path& dir, const fs::path& cert);

// Bits in a hex number without leading zeros.
int hex_bits(const std::string& hex);

// Base fixture: a fresh temp folder (canonical path, since the binary resolves
// relative paths against getcwd()), and the binary's presence checked.
class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // tlsgate in the temp folder; asserts nothing.
  Proc tg(const std::string& args) const { return tlsgate(dir_, args); }
  Proc shell(const std::string& cmd) const { return sh(dir_, cmd); }
  // tlsgate that must succeed.
  Proc tg_ok(const std::string& args) const;
  // Encrypts the private key `in` into `out` (the same file may be both) as
  // PKCS#8 with AES-256 under the password in `password_file`, by openssl.
  ::testing::AssertionResult encrypt_key(const std::string& in, const std::string& out,
                                         const std::string& password_file = "pw") const;
  fs::path path(const std::string& rel) const { return dir_ / rel; }

  test::TempDir tmp_;
  fs::path dir_;
};

}  // namespace tlsgate::e2e
