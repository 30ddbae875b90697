// Text a peer chose (a server's header, an ACME problem, a URL from a
// certificate), made fit for an error message or a log line: it cannot end
// the line, forge another, or run on without end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tlsgate::util {

// Bytes outside printable ASCII, and `"` and `\`, as \xNN; cut at `max`
// bytes, with "..." after when cut.
std::string escape_peer_text(std::string_view text, size_t max);

// The same, in double quotes, cut at 300 bytes.
std::string quoted_peer_text(std::string_view text);

}  // namespace tlsgate::util
