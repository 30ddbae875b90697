#include "e2e/e2e_helpers.h"

#include <sys/stat.h>

#include <cctype>
#include <sstream>

#include "support/gate_process.h"

namespace tlsgate::e2e {

std::string tlsgate_bin() { return test::GateProcess::binary(); }

std::string read_file(const fs::path& p) { return test::read_text(p); }

Proc sh(const fs::path& cwd, const std::string& cmd) { return test::run_shell(cmd, cwd); }

Proc tlsgate(const fs::path& cwd, const std::string& args) {
  return sh(cwd, shell_quote(tlsgate_bin()) + " " + args);
}

std::string describe(const Proc& r) {
  return "exit " + std::to_string(r.code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" +
         r.err;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xffffffffU;
  return st.st_mode & 07777U;
}

std::string openssl_pubkey_of_key(const fs::path& dir, const fs::path& key,
                                  const std::string& inform) {
  return sh(dir, "openssl pkey -in " + q(key) + " -inform " + inform + " -pubout").out;
}

std::string openssl_pubkey_of_cert(const fs::path& dir, const fs::path& cert) {
  return sh(dir, "openssl x509 -in " + q(cert) + " -noout -pubkey").out;
}

std::pair<std::string, std::string> openssl_pin(const fs::path& dir, const fs::path& cert) {
  std::string spki = "openssl x509 -in " + q(cert) +
                     " -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256";
  std::string hex = sh(dir, spki + " -r").out;
  hex = hex.substr(0, hex.find(' '));
  std::string b64 = trim(sh(dir, spki + " -binary | base64").out);
  return {hex, b64};
}

std::string openssl_serial(const fs::path& dir, const fs::path& cert) {
  std::string s = trim(sh(dir, "openssl x509 -noout -serial -in " + q(cert)).out);
  if (s.rfind("serial=", 0) == 0) s = s.substr(7);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  s.erase(0, s.find_first_not_of('0'));
  return s;
}

int hex_bits(const std::string& hex) {
  if (hex.empty()) return 0;
  int first = std::stoi(hex.substr(0, 1), nullptr, 16);
  int top = 0;
  while (first > 0) {
    ++top;
    first >>= 1;
  }
  return static_cast<int>(hex.size() - 1) * 4 + top;
}

void E2eTest::SetUp() {
  ASSERT_FALSE(tlsgate_bin().empty()) << "TLSGATE_BIN is not set (run through ctest)";
  ASSERT_TRUE(fs::exists(tlsgate_bin())) << tlsgate_bin();
  dir_ = fs::canonical(tmp_.path());
}

Proc E2eTest::tg_ok(const std::string& args) const {
  Proc r = tg(args);
  EXPECT_EQ(r.code, 0) << "tlsgate " << args << "\n" << describe(r);
  return r;
}

::testing::AssertionResult E2eTest::encrypt_key(const std::string& in, const std::string& out,
                                                const std::string& password_file) const {
  Proc r = shell("openssl pkcs8 -topk8 -v2 aes256 -in " + q(in) + " -out " + q(out + ".enc") +
                 " -passout file:" + q(password_file) + " && mv " + q(out + ".enc") + " " + q(out));
  if (r.code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "encrypting " << in << ": " << describe(r);
}

}  // namespace tlsgate::e2e
