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

// Text shown as it is where UTF-8 is welcome (a text log line, a config
// diagnostic), except what would make the line lie: C0 and C1 control
// characters and DEL (they end the line or drive the terminal), the line and
// paragraph separators, bidirectional overrides and isolates, and invisible
// format characters (they make text read otherwise than its bytes: "Trojan
// Source"). Those, and bytes that are not UTF-8, are shown as \xNN per byte;
// a newline, CR and tab as \n, \r, \t.
std::string escape_controls(std::string_view text);

}  // namespace tlsgate::util
