// RAII owners for libssl types; libcrypto ones live in pki/handles.h.
#pragma once

#include <memory>

#include <openssl/ssl.h>

#include "pki/handles.h"

namespace tlsgate::tls {

using SslCtxPtr = std::unique_ptr<SSL_CTX, pki::Free<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, pki::Free<SSL_free>>;
inline void free_name_stack(STACK_OF(X509_NAME) * s) { sk_X509_NAME_pop_free(s, X509_NAME_free); }
using X509NameStackPtr = std::unique_ptr<STACK_OF(X509_NAME), pki::Free<free_name_stack>>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, pki::Free<SSL_SESSION_free>>;

}  // namespace tlsgate::tls
