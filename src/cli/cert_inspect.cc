// `tlsgate cert inspect FILE... [--json]`
#include <cstdio>

#include "cli/cert_support.h"
#include "cli/command.h"
#include "pki/loader.h"

namespace tlsgate::cli {
namespace {

struct CertInspectOptions {
  std::vector<std::string> files;
  bool json = false;
};

int run_inspect(const CertInspectOptions& o) {
  nlohmann::json all = nlohmann::json::array();
  int code = kOk;
  for (const auto& file : o.files) {
    auto certs = pki::load_certificates(file);
    if (!certs) {
      code = report_error(certs.error().message(), kFailed);
      continue;
    }
    for (size_t i = 0; i < certs->size(); ++i) {
      auto info = pki::describe((*certs)[i].get(), util::SystemClock::instance());
      if (o.json) {
        auto j = to_json(info);
        j["file"] = file;
        j["index"] = i;
        all.push_back(std::move(j));
        continue;
      }
      std::string title = file;
      if (certs->size() > 1)
        title += " [" + std::to_string(i + 1) + "/" + std::to_string(certs->size()) + "]";
      std::printf("%s\n%s", title.c_str(), to_text(info).c_str());
      if (i + 1 < certs->size()) std::printf("\n");
    }
  }
  if (o.json) std::printf("%s\n", all.dump(2).c_str());
  return code;
}

}  // namespace

void add_cert_inspect(CLI::App& cert, Outcome& out) {
  auto opts = std::make_shared<CertInspectOptions>();
  auto* cmd = cert.add_subcommand("inspect", "Show what a certificate (or bundle) holds");
  cmd->add_option("files", opts->files, "PEM or DER certificate files")->required();
  cmd->add_flag("--json", opts->json, "Print JSON instead of text");
  cmd->callback([opts, &out] { out.code = run_inspect(*opts); });
}

}  // namespace tlsgate::cli
