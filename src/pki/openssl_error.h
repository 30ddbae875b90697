// OpenSSL's error queue turned into our errors (STYLE.md practice 8).
//
// drain_openssl_errors() empties the calling thread's queue and returns every
// entry's reason joined by "; " (empty if the queue was empty). Call
// clear_openssl_errors() before an OpenSSL call whose failure you will report,
// so stale entries from an earlier call never leak into its message.
#pragma once

#include <string>

#include "util/result.h"

namespace tlsgate::pki {

std::string drain_openssl_errors();
void clear_openssl_errors();
// Error("WHAT: <drained reasons>"), or just WHAT when the queue is empty.
util::Error openssl_error(const std::string& what);

}  // namespace tlsgate::pki
