// TicketKeys: the gate's own session ticket keys, shared by every context
// and rotated on a schedule (server.ticket_key_rotation).
//
// OpenSSL gives each SSL_CTX random ticket keys of its own, so a reload
// (a new SSL_CTX) would silently end resumption for every client. Contexts
// built with a TicketKeys encrypt tickets with its current key and accept
// the current and the previous one, so clients resume across certificate
// reloads and across one rotation. rotate() and the OpenSSL callback may run
// on different threads; the keys are swapped as one immutable snapshot.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include <openssl/ssl.h>

#include "util/result.h"
#include "util/versioned.h"

namespace tlsgate::tls {

class TicketKeys {
 public:
  // Starts with a fresh random key. Fails only when OpenSSL's random number
  // generator does; then no key exists and nothing may be served.
  static util::Result<std::shared_ptr<TicketKeys>> create();

  // A new current key; the old current becomes the previous one. When the
  // random number generator fails, the keys stay as they were and the error
  // says so.
  util::Status rotate();

  // Makes ctx use these keys (ctx must not outlive this object).
  void attach(SSL_CTX* ctx);

 private:
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
  };
  struct Set {
    Key current;
    std::optional<Key> previous;
  };
  static int callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);
  TicketKeys() = default;
  static util::Result<Key> random_key();

  util::Versioned<Set> keys_;
};

}  // namespace tlsgate::tls
