#include "pki/private_key_loader.h"

#include <openssl/pem.h>

#include <cstring>

#include "pki/loader.h"
#include "pki/openssl_error.h"
#include "pki/pem_blocks.h"
#include "util/atomic_file.h"

namespace tlsgate::pki {
namespace {

struct PasswordState {
  const std::optional<util::Secret>* password;
  bool asked = false;
};

int password_callback(char* buf, int size, int /*rwflag*/, void* user) {
  auto* state = static_cast<PasswordState*>(user);
  state->asked = true;
  if (!*state->password) return -1;
  const std::string& pw = (*state->password)->reveal();
  if (pw.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pw.data(), pw.size());
  return static_cast<int>(pw.size());
}

util::Error encrypted_no_password(const std::string& source, std::string_view advice) {
  if (advice.empty()) {
    return util::Error(source + ": the private key is encrypted and no password was given for it");
  }
  return util::Error(source + ": the private key is encrypted; " + std::string(advice));
}

util::Error wrong_password(const std::string& source) {
  return util::Error(source + ": wrong password for the encrypted private key");
}

util::Error corrupted(const std::string& source, const std::string& reason) {
  return util::Error(source + ": truncated or corrupted private key: " +
                     (reason.empty() ? std::string("cannot decode it") : reason));
}

// A key OpenSSL decoded but cannot encode again (an EC scalar longer than its
// curve's order, say) is damaged: refused here, not at the first handshake it
// cannot sign, nor by `cert convert` after it was accepted.
util::Result<EvpPkeyPtr> encodable(EvpPkeyPtr key, const std::string& source) {
  clear_openssl_errors();
  if (i2d_PrivateKey(key.get(), nullptr) <= 0) {
    return util::fail(
        corrupted(source, "its fields do not make a valid key (" + drain_openssl_errors() + ")"));
  }
  return key;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

util::Result<EvpPkeyPtr> parse_pem_key(std::string_view data, const std::string& source,
                                       const std::optional<util::Secret>& password,
                                       std::string_view advice) {
  auto blocks = read_pem_blocks(data);
  if (!blocks) return util::fail(corrupted(source, blocks.error().message()));
  const PemBlock* key_block = nullptr;
  for (const auto& block : *blocks) {
    if (ends_with(block.name, "PRIVATE KEY")) {
      key_block = &block;
      break;
    }
  }
  if (key_block == nullptr) {
    if (blocks->empty()) return util::fail(corrupted(source, "no complete PEM block"));
    return util::fail(source + ": not a private key (found a " + blocks->front().name + " block)");
  }
  if (key_block->name == "OPENSSH PRIVATE KEY") {
    return util::fail(source +
                      ": an OpenSSH private key is not supported; convert it with "
                      "`ssh-keygen -p -m PKCS8 -f " +
                      source + "`");
  }
  bool encrypted = key_block->name == "ENCRYPTED PRIVATE KEY" ||
                   key_block->header.find("ENCRYPTED") != std::string::npos;
  if (encrypted && !password) return util::fail(encrypted_no_password(source, advice));

  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  PasswordState state{&password};
  clear_openssl_errors();
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, password_callback, &state));
  if (key) return encodable(std::move(key), source);
  if (encrypted || state.asked) {
    clear_openssl_errors();
    return util::fail(password ? wrong_password(source) : encrypted_no_password(source, advice));
  }
  return util::fail(corrupted(source, drain_openssl_errors()));
}

util::Result<EvpPkeyPtr> parse_der_key(std::string_view data, const std::string& source,
                                       const std::optional<util::Secret>& password,
                                       std::string_view advice) {
  const auto* begin = reinterpret_cast<const unsigned char*>(data.data());
  const auto* end = begin + data.size();
  const auto len = static_cast<long>(data.size());

  clear_openssl_errors();
  const unsigned char* p = begin;
  X509SigPtr sig(d2i_X509_SIG(nullptr, &p, len));
  if (sig && p == end) {  // EncryptedPrivateKeyInfo
    if (!password) return util::fail(encrypted_no_password(source, advice));
    const std::string& pw = password->reveal();
    Pkcs8InfoPtr info(PKCS8_decrypt(sig.get(), pw.data(), static_cast<int>(pw.size())));
    if (!info) {
      clear_openssl_errors();
      return util::fail(wrong_password(source));
    }
    EvpPkeyPtr key(EVP_PKCS82PKEY(info.get()));
    if (!key) return util::fail(corrupted(source, drain_openssl_errors()));
    return encodable(std::move(key), source);
  }

  clear_openssl_errors();
  p = begin;
  EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, len));
  if (key && p == end) return encodable(std::move(key), source);
  std::string reasons = drain_openssl_errors();

  p = begin;
  X509Ptr cert(d2i_X509(nullptr, &p, len));
  clear_openssl_errors();
  if (cert) return util::fail(source + ": not a private key (found a DER certificate)");
  if (looks_like_text(data)) {
    return util::fail(source +
                      ": not a PEM or DER private key (no -----BEGIN "
                      "PRIVATE KEY----- "
                      "line); check that this is the right file");
  }
  return util::fail(corrupted(source, key ? "unexpected bytes after the end of the key" : reasons));
}

}  // namespace

util::Result<EvpPkeyPtr> parse_private_key(std::string_view data, const std::string& source,
                                           const std::optional<util::Secret>& password,
                                           std::string_view password_advice) {
  if (is_blank(data)) return util::fail(source + ": empty file; expected a PEM or DER private key");
  if (detect_encoding(data) == Encoding::kPem) {
    return parse_pem_key(data, source, password, password_advice);
  }
  return parse_der_key(data, source, password, password_advice);
}

util::Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path,
                                          const std::optional<util::Secret>& password,
                                          std::string_view password_advice) {
  auto data = util::read_file(path);
  if (!data) return util::fail(data.error());
  return parse_private_key(*data, path.string(), password, password_advice);
}

}  // namespace tlsgate::pki
