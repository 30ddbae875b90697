// Helpers local to the pki unit tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pki/encode.h"
#include "support/process.h"
#include "util/atomic_file.h"

namespace tlsgate::pki::test_util {

using test::q;

// Runs cmd and expects exit status 0; returns the output.
inline std::string openssl_ok(const std::string& cmd) {
  int rc = -1;
  std::string out = test::run_command(cmd, &rc);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  return out;
}

inline std::string read(const std::filesystem::path& p) { return util::read_file(p).value(); }

inline std::string pem(const X509* cert) { return certificate_pem(cert).value(); }

inline mode_t mode_of(const std::filesystem::path& p) {
  return static_cast<mode_t>(std::filesystem::status(p).permissions()) & 07777;
}

}  // namespace tlsgate::pki::test_util
