// A policy folder minted per test, laid out as `tlsgate cert install` does,
// with the config::Policy that points there (unit tests of tls and net).
#pragma once

#include <filesystem>
#include <string>

#include "config/settings.h"
#include "pki/issuer.h"
#include "support/test_pki.h"

namespace tlsgate::test {

// Writes certificates/<scope>/{private.key,public.crt,trusted/ca.crt,revoked/}
// under dir (leaf's key and certificate, ca's certificate) and returns a
// Policy pointing there (enabled).
config::Policy make_policy(const std::filesystem::path& dir, const std::string& scope,
                           const TestCa& ca, const pki::Issued& leaf);

}  // namespace tlsgate::test
