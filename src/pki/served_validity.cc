#include "pki/served_validity.h"

#include <fmt/format.h>

namespace tlsgate::pki {

std::optional<ServedValidity> served_validity(const CertificateInfo& info,
                                              long expiry_warning_days) {
  if (info.expired) {
    return ServedValidity{true,
                          fmt::format("which expired on {}; every client will refuse it",
                                      format_time(info.not_after)),
                          "install a renewed certificate"};
  }
  if (info.not_yet_valid) {
    return ServedValidity{
        true,
        fmt::format("which is not valid before {}; every client will refuse it until then",
                    format_time(info.not_before)),
        "check this machine's clock, or install a certificate that is valid now"};
  }
  if (info.days_left < expiry_warning_days) {
    return ServedValidity{false,
                          fmt::format("which expires in {} day(s), on {}", info.days_left,
                                      format_time(info.not_after)),
                          "install a renewed certificate before then"};
  }
  return std::nullopt;
}

}  // namespace tlsgate::pki
