// Running a shell command from a test (the openssl CLI as an oracle, the tlsgate binary).
#pragma once

#include <string>

namespace tlsgate::test {

// Runs cmd with /bin/sh, returns its stdout and stderr interleaved; *exit_code
// (if given) gets the exit status, or -1 if it did not exit normally.
std::string run_command(const std::string& cmd, int* exit_code = nullptr);

// Single-quotes s for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace tlsgate::test
