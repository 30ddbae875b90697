#include "tls/ocsp_staple.h"

#include <openssl/crypto.h>
#include <openssl/tls1.h>

namespace tlsgate::tls {
namespace {

struct StapleSource {
  std::shared_ptr<const StapleStore> store;
  std::string leaf_id;
};

int staple_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
         void* /*argp*/) { delete static_cast<StapleSource*>(ptr); });
  return index;
}

// OpenSSL calls this on the server only when the client sent status_request.
int staple(SSL* ssl, void* /*arg*/) {
  const auto* source =
      static_cast<const StapleSource*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), staple_index()));
  if (source == nullptr) return SSL_TLSEXT_ERR_NOACK;
  auto der = source->store->get(source->leaf_id);
  if (!der || der->empty()) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL takes ownership of the copy and frees it with the SSL.
  void* copy = OPENSSL_memdup(der->data(), der->size());
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_set_tlsext_status_ocsp_resp(ssl, static_cast<unsigned char*>(copy),
                                      static_cast<long>(der->size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void StapleStore::set(const std::string& leaf_id, std::shared_ptr<const std::string> der) {
  util::MutexLock lock(mu_);
  by_leaf_[leaf_id] = std::move(der);
}

std::shared_ptr<const std::string> StapleStore::get(const std::string& leaf_id) const {
  util::MutexLock lock(mu_);
  auto it = by_leaf_.find(leaf_id);
  return it == by_leaf_.end() ? nullptr : it->second;
}

void StapleStore::erase(const std::string& leaf_id) {
  util::MutexLock lock(mu_);
  by_leaf_.erase(leaf_id);
}

void enable_stapling(SSL_CTX* ssl_ctx, std::shared_ptr<const StapleStore> store,
                     std::string leaf_id) {
  SSL_CTX_set_ex_data(ssl_ctx, staple_index(),
                      new StapleSource{std::move(store), std::move(leaf_id)});
  // SSL_CTX_set_tlsext_status_cb() without its C cast.
  SSL_CTX_callback_ctrl(ssl_ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                        reinterpret_cast<void (*)()>(staple));
}

}  // namespace tlsgate::tls
