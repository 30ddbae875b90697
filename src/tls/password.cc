#include "tls/password.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>

namespace tlsgate::tls {

bool is_command_password(const util::Secret& password) {
  const auto& s = password.reveal();
  return s.size() > 3 && s.rfind("$(", 0) == 0 && s.back() == ')';
}

util::Result<std::optional<util::Secret>> resolve_password(const config::Policy& policy,
                                                           bool expand_commands) {
  if (!policy.private_key_password) return std::optional<util::Secret>();
  const auto& password = *policy.private_key_password;
  if (!is_command_password(password)) return std::optional<util::Secret>(password);
  std::string key = "ssl.policy." + policy.scope + ".private_key_password";
  if (!expand_commands) {
    return util::fail(key +
                      ": is a $(command), which runs only when tlsgate is started with "
                      "--expand-commands; add the flag, or write the password itself");
  }
  std::string command = password.reveal().substr(2, password.reveal().size() - 3);
  FILE* pipe = ::popen(command.c_str(), "r");  // NOLINT(cert-env33-c): the operator's own command
  if (pipe == nullptr) return util::fail(key + ": cannot run the $(command)");
  // Read into a buffer that never reallocates, so no stray copy of the
  // password is left in freed memory; what is not kept is wiped.
  constexpr size_t kMax = 65536;
  std::string output;
  output.reserve(kMax);
  std::array<char, 256> buf{};
  size_t n = 0;
  bool too_long = false;
  // Read to the end even past the limit, so the command is not killed by
  // SIGPIPE and blamed for a failure that is really its output's length.
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    if (output.size() + n > kMax) too_long = true;
    if (!too_long) output.append(buf.data(), n);
  }
  util::wipe(buf.data(), buf.size());
  int status = ::pclose(pipe);
  if (too_long) {
    util::wipe(output);
    return util::fail(key +
                      ": the $(command) printed more than 64 KiB; it must print only the "
                      "password");
  }
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    util::wipe(output);
    return util::fail(key + ": the $(command) failed (exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                      "); run it by hand to see why");
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  // The Secret takes the buffer itself (a move, no copy) and wipes it when done.
  return std::optional<util::Secret>(util::Secret(std::move(output)));
}

}  // namespace tlsgate::tls
