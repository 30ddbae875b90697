// `tlsgate cert pin FILE|HOST:PORT` — prints sha256:HEX and sha256//BASE64.
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "config/value_parsers.h"
#include "net/peer_chain.h"
#include "pki/base64.h"
#include "pki/loader.h"
#include "pki/pin.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

int run_pin(const std::string& target) {
  std::error_code ec;
  util::Result<std::vector<pki::X509Ptr>> certs = util::fail("");
  if (std::filesystem::exists(target, ec)) {
    certs = pki::load_certificates(target);
  } else {
    auto peer = config::parse_address(target);
    if (!peer) {
      return report_error(target + ": no such file, and not HOST:PORT either", kUsage);
    }
    certs = net::fetch_peer_chain(*peer, std::chrono::seconds(10));
  }
  if (!certs) return report_error(certs.error().message(), kFailed);
  auto digest = pki::spki_sha256(certs->front().get());
  std::printf("sha256:%s\nsha256//%s\n", util::hex(digest).c_str(), pki::encode_base64(digest).c_str());
  return kOk;
}

}  // namespace

void add_cert_pin(CLI::App& cert, Outcome& out) {
  auto target = std::make_shared<std::string>();
  auto* cmd = cert.add_subcommand(
      "pin", "Print the SPKI SHA-256 pin of a certificate file or of a server's certificate");
  cmd->add_option("target", *target, "Certificate file, or HOST:PORT of a TLS server")->required();
  cmd->callback([target, &out] { out.code = run_pin(*target); });
}

}  // namespace tlsgate::cli
