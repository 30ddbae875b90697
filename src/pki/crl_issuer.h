// Issuing CRLs signed by a CA (`tlsgate cert crl`, tests of revoked_dir).
// Pure functions of their arguments; thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

// A CRL (v2, with AKI and CRL number 1) signed by the CA, revoking the given
// certificates. this_update = clock.now() unless set; next_update = this_update + 7 days unless
// set.
util::Result<X509CrlPtr> create_crl(const X509* ca_cert, const EVP_PKEY* ca_key,
                                    const std::vector<const X509*>& revoked,
                                    const util::Clock& clock,
                                    std::optional<util::SystemTime> this_update = {},
                                    std::optional<util::SystemTime> next_update = {});

}  // namespace tlsgate::pki
