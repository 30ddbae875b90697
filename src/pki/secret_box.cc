#include "pki/secret_box.h"

#include <sys/stat.h>

#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pki/openssl_error.h"
#include "util/atomic_file.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

constexpr size_t kSecretSize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string make_key_id(const std::string& secret) {
  static constexpr std::string_view kLabel = "tlsgate cluster secret key id\n";
  std::string input(kLabel);
  input += secret;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  util::wipe(input);
  return util::hex(std::string_view(reinterpret_cast<const char*>(md), 8));
}

}  // namespace

util::Result<SecretBox> SecretBox::from_bytes(util::Secret secret) {
  if (secret.reveal().size() != kSecretSize) {
    return util::fail("the cluster secret is " + std::to_string(secret.reveal().size()) +
                      " bytes, not 32; make one with: head -c 32 /dev/urandom > FILE");
  }
  auto id = make_key_id(secret.reveal());
  return SecretBox(std::move(secret), std::move(id));
}

util::Result<SecretBox> SecretBox::load(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return util::fail("cluster.secret_file " + file.string() +
                      " cannot be read; make it with: head -c 32 /dev/urandom > " + file.string() +
                      "; chmod 600 " + file.string() + ", and copy it to every node");
  }
  if ((st.st_mode & 077) != 0) {
    return util::fail(
        "cluster.secret_file " + file.string() + " can be read by other users (mode " +
        fmt::format("{:04o}", st.st_mode & 0777) + "); run: chmod 600 " + file.string());
  }
  auto data = util::read_file(file);
  if (!data) return util::fail(data.error().prefixed("cluster.secret_file"));
  auto box = from_bytes(util::Secret(std::move(*data)));
  if (!box) return util::fail(box.error().prefixed("cluster.secret_file " + file.string()));
  return box;
}

util::Result<Sealed> SecretBox::seal(std::string_view plaintext,
                                     std::string_view associated) const {
  Sealed out;
  out.key_id = key_id_;
  out.nonce.resize(kNonceSize);
  if (RAND_bytes(bytes(out.nonce), kNonceSize) != 1) {
    return util::fail(openssl_error("no random bytes for a nonce"));
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  out.ciphertext.resize(plaintext.size() + kTagSize);
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(secret_.reveal()),
                         bytes(out.nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes(out.ciphertext), &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes(out.ciphertext) + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          bytes(out.ciphertext) + plaintext.size()) != 1) {
    return util::fail(openssl_error("AES-256-GCM sealing failed"));
  }
  return out;
}

util::Result<util::Secret> SecretBox::open(const Sealed& sealed,
                                           std::string_view associated) const {
  if (sealed.key_id != key_id_) {
    return util::fail("it was sealed with the cluster secret of key id " + sealed.key_id +
                      ", and this node's cluster.secret_file has key id " + key_id_ +
                      "; give every node the same secret file");
  }
  if (sealed.nonce.size() != kNonceSize || sealed.ciphertext.size() < kTagSize) {
    return util::fail("the sealed value is malformed (nonce or tag missing)");
  }
  const size_t n = sealed.ciphertext.size() - kTagSize;
  std::string plain(n, '\0');
  std::string tag = sealed.ciphertext.substr(n);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(secret_.reveal()),
                               bytes(sealed.nonce)) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                              static_cast<int>(associated.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), bytes(plain), &len, bytes(sealed.ciphertext),
                              static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, bytes(tag)) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + len, &len) == 1;
  if (!ok) {
    util::wipe(plain);
    return util::fail(
        "the sealed value does not open with this node's cluster secret: it was changed, or "
        "belongs to another record");
  }
  return util::Secret(std::move(plain));
}

}  // namespace tlsgate::pki
