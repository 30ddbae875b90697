#include "tls/ticket_keys.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pki/openssl_error.h"

namespace tlsgate::tls {
namespace {

int ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Fetched once: EVP_aes_256_cbc() makes every Init look the provider up again.
const EVP_CIPHER* ticket_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

}  // namespace

util::Result<std::shared_ptr<TicketKeys>> TicketKeys::create() {
  auto key = random_key();
  if (!key) return util::fail(key.error());
  std::shared_ptr<TicketKeys> keys(new TicketKeys());
  keys->keys_.publish(std::make_shared<const Set>(Set{*key, std::nullopt}));
  return keys;
}

util::Result<TicketKeys::Key> TicketKeys::random_key() {
  Key k;
  bool ok = RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) == 1 &&
            RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size())) == 1 &&
            RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) == 1;
  if (!ok) {
    OPENSSL_cleanse(&k, sizeof k);
    return util::fail(pki::openssl_error("session ticket keys: OpenSSL's random number "
                                         "generator failed")
                          .message() +
                      "; check that the system's entropy source (getrandom, /dev/urandom) works");
  }
  return k;
}

util::Status TicketKeys::rotate() {
  auto key = random_key();
  if (!key) return util::fail(key.error());
  auto old = keys_.get();
  keys_.publish(std::make_shared<const Set>(Set{*key, old->current}));
  return {};
}

void TicketKeys::attach(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ctx_index(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::callback);
}

int TicketKeys::callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* self = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
  if (self == nullptr) return -1;
  auto keys = self->keys_.get();
  const Key* key = &keys->current;
  int result = 1;
  if (encrypt == 1) {
    std::memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(ticket_cipher())) != 1) return -1;
  } else if (std::memcmp(key_name, keys->current.name.data(), 16) != 0) {
    if (!keys->previous || std::memcmp(key_name, keys->previous->name.data(), 16) != 0) {
      return 0;  // unknown key: a full handshake
    }
    key = &*keys->previous;
    result = 2;  // valid, but issue a ticket under the current key
  } else if (SSL_version(ssl) >= TLS1_3_VERSION) {
    // TLS 1.3 clients use a ticket once (RFC 8446 C.4); without a fresh one
    // after each resumption, every other reconnect is a full handshake.
    result = 2;
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()), key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  int ok = encrypt == 1 ? EVP_EncryptInit_ex(cipher, ticket_cipher(), nullptr, key->aes.data(), iv)
                        : EVP_DecryptInit_ex(cipher, ticket_cipher(), nullptr, key->aes.data(), iv);
  return ok == 1 ? result : -1;
}

}  // namespace tlsgate::tls
