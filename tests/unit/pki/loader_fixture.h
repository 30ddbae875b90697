// Shared fixture of loader_test.cc and private_key_loader_test.cc: a CA and a
// leaf minted per test, written as ca.crt, leaf.crt and leaf.key in a TempDir.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "pki/issuer.h"
#include "pki/loader.h"
#include "pki/private_key_loader.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki::test_util {

class LoaderFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("Loader CA");
    leaf_ = test::make_leaf(ca_, {"db1.example.com"});
    test::write_cert(dir_ / "ca.crt", ca_.ca.cert.get());
    test::write_cert(dir_ / "leaf.crt", leaf_.cert.get());
    test::write_key(dir_ / "leaf.key", leaf_.key.get());
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes content to NAME and returns its path.
  std::filesystem::path file(const std::string& name, const std::string& content) {
    test::write_text(dir_ / name, content);
    return dir_ / name;
  }

  std::string error_of_certs(const std::string& name, const std::string& content) {
    auto r = load_certificates(file(name, content));
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  }

  std::string error_of_key(const std::string& name, const std::string& content,
                           std::optional<util::Secret> password = {}) {
    auto r = load_private_key(file(name, content), password);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  }

  // `openssl genrsa -traditional`, an RSA PRIVATE KEY (PKCS#1) PEM.
  std::filesystem::path pkcs1_rsa_key() {
    openssl_ok("openssl genrsa -traditional -out " + q(dir_ / "rsa1.key") + " 2048");
    return dir_ / "rsa1.key";
  }

  test::TempDir dir_;
  test::TestCa ca_;
  Issued leaf_;
};

}  // namespace tlsgate::pki::test_util
