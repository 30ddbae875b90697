// The shape every verb follows: a register function adds a CLI11 subcommand
// whose callback stores the verb's exit code in the shared ExitCode.
//
// Exit codes (DESIGN.md): 0 fine, 1 a check or connection failed, 2 bad usage
// or bad config. Verbs print results to stdout and errors to stderr as
// "tlsgate: error: <message>" through report_error().
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tlsgate::cli {

enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2 };

struct Outcome {
  int code = kOk;
};

void add_cert_ca(CLI::App& cert, Outcome& out);
void add_cert_issue(CLI::App& cert, Outcome& out);
void add_cert_inspect(CLI::App& cert, Outcome& out);
void add_cert_verify(CLI::App& cert, Outcome& out);
void add_cert_convert(CLI::App& cert, Outcome& out);
void add_cert_pin(CLI::App& cert, Outcome& out);
void add_cert_pkcs12(CLI::App& cert, Outcome& out);
void add_cert_install(CLI::App& cert, Outcome& out);
void add_cert_revoke(CLI::App& cert, Outcome& out);
void add_cert_crl(CLI::App& cert, Outcome& out);
void add_cert_csr(CLI::App& cert, Outcome& out);
void add_cert_sign(CLI::App& cert, Outcome& out);
void add_cert_trust(CLI::App& cert, Outcome& out);
void add_check(CLI::App& app, Outcome& out);
void add_serve(CLI::App& app, Outcome& out);
void add_probe(CLI::App& app, Outcome& out);
void add_cluster(CLI::App& app, Outcome& out);
void add_version(CLI::App& app, Outcome& out);
// Hidden: the man pages and completion, generated from `app` (cli/manual.cc).
void add_manual(CLI::App& app, Outcome& out);

// Prints "tlsgate: error: MESSAGE" to stderr and returns CODE.
int report_error(const std::string& message, int code);
void print_warning(const std::string& message);

// Builds the whole command tree and runs it on argv; returns the exit code.
int run(int argc, char** argv);

}  // namespace tlsgate::cli
