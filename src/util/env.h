// Environment variables that systemd hands to this process alone.
#pragma once

#include <string>

namespace tlsgate::util {

// The value of `name` ("" when unset), which is then removed from the
// environment, so that processes the gate starts later ($(command)
// secrets, hooks) do not take it for theirs: sd_listen_fds(3) and
// sd_notify(3) say the same. getenv and unsetenv are not thread-safe: call
// it before the gate starts any thread.
std::string take_env(const char* name);

}  // namespace tlsgate::util
