#include "tls/policy_inputs.h"

#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <vector>

#include "pki/handles.h"
#include "pki/loader.h"
#include "util/atomic_file.h"

namespace tlsgate::tls {
namespace {

class Sha256 {
 public:
  Sha256() : md_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(md_.get(), EVP_sha256(), nullptr); }
  void add(std::string_view part) {
    // Length first, so "ab"+"c" and "a"+"bc" differ.
    auto n = static_cast<uint64_t>(part.size());
    EVP_DigestUpdate(md_.get(), &n, sizeof n);
    EVP_DigestUpdate(md_.get(), part.data(), part.size());
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_.get(), out.data(), &len);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (unsigned int i = 0; i < len; ++i) {
      s += kDigits[out[i] >> 4];
      s += kDigits[out[i] & 0xf];
    }
    return s;
  }

 private:
  pki::EvpMdCtxPtr md_;
};

void add_file(Sha256& h, const std::filesystem::path& file) {
  h.add(file.string());
  auto text = util::read_file(file);
  if (text) {
    h.add("=");
    h.add(*text);
  } else {
    h.add("!");
    h.add(text.error().message());
  }
}

// The files pki's folder loaders read, in their order.
void add_folder(Sha256& h, const std::filesystem::path& dir) {
  h.add(dir.string());
  auto files = pki::folder_files(dir, "");
  if (!files) {
    h.add("! " + files.error().message());
    return;
  }
  for (const auto& f : *files) add_file(h, f);
}

}  // namespace

std::string content_digest(std::string_view text) {
  Sha256 h;
  h.add(text);
  return h.hex();
}

std::optional<std::string> policy_inputs_digest(const config::Policy& policy) {
  if (config::is_pkcs11_uri(policy.private_key)) return std::nullopt;
  Sha256 h;
  add_file(h, policy.private_key);
  add_file(h, policy.public_certificate);
  add_folder(h, policy.trusted_dir);
  add_folder(h, policy.revoked_dir);
  return h.hex();
}

}  // namespace tlsgate::tls
