// Private key passwords, including Neo4j-style `$(command)` ones.
//
// A password written as $(command) is the trimmed standard output of running
// command with /bin/sh, but only when tlsgate was started with
// --expand-commands; otherwise it is refused with an error naming the key.
// Neither the command's output nor the password ever reaches a message.
#pragma once

#include <optional>

#include "config/settings.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::tls {

bool is_command_password(const util::Secret& password);

util::Result<std::optional<util::Secret>> resolve_password(const config::Policy& policy,
                                                           bool expand_commands);

}  // namespace tlsgate::tls
