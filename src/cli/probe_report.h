// The two renderings of a `tlsgate probe` report: the readable text and the
// JSON document of schema "tlsgate.probe/1" (docs/PROBE.md). `chain` is the
// report's chain described (pki::describe), `e` the enumeration or null,
// `findings` its grading. Pure functions; used only by cli/probe.cc.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/probe.h"
#include "net/probe_enumerate.h"
#include "pki/certificate_info.h"
#include "tls/probe_grade.h"

namespace tlsgate::cli {

nlohmann::json probe_json(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
                          const net::Enumeration* e, const std::vector<tls::Finding>& findings);
std::string probe_text(const net::ProbeReport& r, const std::vector<pki::CertificateInfo>& chain,
                       const net::Enumeration* e, const std::vector<tls::Finding>& findings);

}  // namespace tlsgate::cli
