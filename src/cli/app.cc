#include <cstdio>
#include <cstring>
#include <vector>

#include <openssl/crypto.h>

#include "cli/command.h"
#include "cli/git_revision.h"

namespace tlsgate::cli {

int report_error(const std::string& message, int code) {
  std::fprintf(stderr, "tlsgate: error: %s\n", message.c_str());
  return code;
}

void print_warning(const std::string& message) {
  std::fprintf(stderr, "tlsgate: warning: %s\n", message.c_str());
}

void add_version(CLI::App& app, Outcome& out) {
  auto* cmd =
      app.add_subcommand("version", "Print tlsgate's version, git revision and OpenSSL's version");
  cmd->callback([&out] {
    std::printf("tlsgate %s (git %s)\n%s\n", TLSGATE_VERSION, git_revision(),
                OpenSSL_version(OPENSSL_VERSION));
    out.code = kOk;
  });
}

int run(int argc, char** argv) {
  CLI::App app{
      "tlsgate secures the network channels of databases and brokers with TLS: a gate in\n"
      "front of any TCP service, and the certificate tooling to run it.",
      "tlsgate"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 fine, 1 a check or connection failed, 2 bad usage or bad config.\n"
      "Run `tlsgate help COMMAND` (or `tlsgate COMMAND --help`) for a command's options.");
  Outcome out;

  add_serve(app, out);
  add_check(app, out);
  auto* cert =
      app.add_subcommand("cert", "Issue, inspect, verify, convert and install certificates");
  cert->require_subcommand(1);
  add_cert_ca(*cert, out);
  add_cert_issue(*cert, out);
  add_cert_inspect(*cert, out);
  add_cert_verify(*cert, out);
  add_cert_convert(*cert, out);
  add_cert_pin(*cert, out);
  add_cert_pkcs12(*cert, out);
  add_cert_install(*cert, out);
  add_cert_revoke(*cert, out);
  add_cert_crl(*cert, out);
  add_cert_csr(*cert, out);
  add_cert_sign(*cert, out);
  add_cert_trust(*cert, out);
  add_probe(app, out);
  add_cluster(app, out);
  add_version(app, out);
  add_manual(app, out);

  // `tlsgate help cert issue` is `tlsgate cert issue --help`, as git and
  // systemctl users expect; `tlsgate help` is `tlsgate --help`.
  std::vector<char*> args(argv, argv + argc);
  static char help_flag[] = "--help";
  if (argc >= 2 && std::strcmp(argv[1], "help") == 0) {
    args.erase(args.begin() + 1);
    args.push_back(help_flag);
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  return out.code;
}

}  // namespace tlsgate::cli
