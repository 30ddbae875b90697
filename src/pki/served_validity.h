// How a certificate about to be served (by a policy, or installed for one)
// stands against the clock, in the words of a warning: `serve` says it at
// start and `cert install` when it installs one, so that an expired server
// certificate is not first noticed as every client's refusal.
#pragma once

#include <optional>
#include <string>

#include "pki/certificate_info.h"

namespace tlsgate::pki {

struct ServedValidity {
  bool refused = false;  // clients refuse it now (expired or not yet valid)
  std::string problem;   // "which expired on 2025-02-01 00:00:00 UTC; every client will refuse it"
  std::string fix;       // what to do, without the command's arguments
};

// info as describe() read it at the moment of asking; nullopt when it is
// valid now and for at least expiry_warning_days more.
std::optional<ServedValidity> served_validity(const CertificateInfo& info,
                                              long expiry_warning_days);

}  // namespace tlsgate::pki
