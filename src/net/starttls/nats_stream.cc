#include "net/starttls/nats_stream.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "net/starttls/nats_json.h"

namespace tlsgate::net::starttls {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'a' && x <= 'z' ? x - 32 : x) == (y >= 'a' && y <= 'z' ? y - 32 : y);
         });
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Up to kMaxArgs words of S; `count` is how many there were (it may exceed
// kMaxArgs: no NATS line has that many, and the caller refuses it). No
// allocation: this runs once per message.
constexpr size_t kMaxArgs = 6;
struct Args {
  std::array<std::string_view, kMaxArgs> word{};
  size_t count = 0;
};

Args split_args(std::string_view s) {
  Args out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) {
      if (out.count < kMaxArgs) out.word[out.count] = s.substr(start, i - start);
      if (++out.count > kMaxArgs) break;
    }
  }
  return out;
}

std::optional<uint64_t> parse_size(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The verb of a control line and the rest (its arguments).
std::pair<std::string_view, std::string_view> split_verb(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && !is_space(text[end])) ++end;
  return {text.substr(0, end), text.substr(end)};
}

// The payload size of a message line: ARGS is FIXED words (subject, and sid
// from a server), an optional reply subject, then the size, or the header
// size and total size (HEADERS). nullopt: WHY completes "the <side> sent ...".
std::optional<uint64_t> message_size(std::string_view args, size_t fixed, bool headers,
                                     std::string& why) {
  auto words = split_args(args);
  const size_t fewest = fixed + (headers ? 2 : 1);
  if (words.count < fewest || words.count > fewest + 1) {
    why = "a message line with the wrong number of arguments";
    return std::nullopt;
  }
  auto total = parse_size(words.word[words.count - 1]);
  if (!total || *total > kMaxNatsPayload) {
    why = "a message size that is not a number up to " + std::to_string(kMaxNatsPayload);
    return std::nullopt;
  }
  if (headers) {
    auto header = parse_size(words.word[words.count - 2]);
    if (!header || *header > *total) {
      why = "a header size that is not within its message's size";
      return std::nullopt;
    }
  }
  return total;
}

std::string_view strip_line_end(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string_view> nats_line_json(std::string_view line, std::string_view verb) {
  line = strip_line_end(line);
  if (line.size() <= verb.size() || !iequals(line.substr(0, verb.size()), verb) ||
      !is_space(line[verb.size()])) {
    return std::nullopt;
  }
  return line.substr(verb.size() + 1);
}

std::optional<std::string> rewrite_info(std::string_view line, const NatsInfoRewrite& how) {
  auto json = nats_line_json(line, "INFO");
  if (!json) return std::nullopt;
  auto members = json_object_members(*json);
  if (!members) return std::nullopt;
  std::string body;
  auto add = [&body](std::string_view member) {
    if (!body.empty()) body.push_back(',');
    body.append(member);
  };
  auto flag = [](std::string_view key, bool v) {
    return json_quote(key) + ":" + (v ? "true" : "false");
  };
  bool did_required = false, did_verify = false, did_available = false, did_urls = false,
       did_host = false, did_port = false;
  for (const auto& m : *members) {
    const std::string& k = m.key;
    if (k == "tls_required") {
      if (!std::exchange(did_required, true)) add(flag(k, how.tls_required));
    } else if (k == "tls_verify") {
      if (!std::exchange(did_verify, true) && how.tls_verify) add(flag(k, true));
    } else if (k == "tls_available") {
      if (!std::exchange(did_available, true) && how.tls_available) add(flag(k, true));
    } else if (k == "connect_urls") {
      if (!std::exchange(did_urls, true) && !how.advertise.empty()) {
        std::string urls = "\"connect_urls\":[";
        for (size_t i = 0; i < how.advertise.size(); ++i) {
          if (i > 0) urls.push_back(',');
          urls += json_quote(how.advertise[i]);
        }
        add(urls + "]");
      }
    } else if (k == "ws_connect_urls" || k == "ip") {
      // Addresses of backends (or of a websocket port the gate does not serve).
    } else if (k == "host" || k == "port") {
      // The first advertised address; without one, the backend's own
      // address is dropped too (clients dial the URL they were given).
      if (how.host.empty()) continue;
      if (k == "host" && !std::exchange(did_host, true)) add("\"host\":" + json_quote(how.host));
      if (k == "port" && !std::exchange(did_port, true)) {
        add("\"port\":" + std::to_string(how.port));
      }
    } else {
      add(m.raw);
    }
  }
  if (!did_required) add(flag("tls_required", how.tls_required));
  if (!did_verify && how.tls_verify) add(flag("tls_verify", true));
  if (!did_available && how.tls_available) add(flag("tls_available", true));
  return "INFO {" + body + "}\r\n";
}

bool NatsFraming::fail(std::string why) {
  state_ = State::kBroken;
  error_ = std::move(why);
  line_.clear();
  line_.shrink_to_fit();
  return false;
}

void NatsFraming::expect_payload(uint64_t size) {
  payload_ = size;
  state_ = size > 0 ? State::kPayload : State::kPayloadCr;
}

bool NatsFraming::frame(std::string_view in, std::string* out) {
  while (!in.empty()) {
    switch (state_) {
      case State::kBroken:
        return false;
      case State::kPayload: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(payload_, in.size()));
        if (out) out->append(in.data(), n);
        in.remove_prefix(n);
        payload_ -= n;
        if (payload_ == 0) state_ = State::kPayloadCr;
        break;
      }
      case State::kPayloadCr:
      case State::kPayloadLf: {
        const bool cr = state_ == State::kPayloadCr;
        if (in.front() != (cr ? '\r' : '\n')) {
          return fail("a message payload from the " + std::string(side_) +
                      " is not followed by CRLF");
        }
        if (out) out->push_back(in.front());
        in.remove_prefix(1);
        state_ = cr ? State::kPayloadLf : State::kLine;
        break;
      }
      case State::kLine: {
        const void* nl = std::memchr(in.data(), '\n', in.size());
        const size_t n =
            nl ? static_cast<size_t>(static_cast<const char*>(nl) - in.data()) + 1 : in.size();
        // At most kMaxNatsLine bytes before the '\n', wherever reads split it.
        if (line_.size() + n > (nl ? kMaxNatsLine + 1 : kMaxNatsLine)) {
          return fail("a control line from the " + std::string(side_) + " is longer than " +
                      std::to_string(kMaxNatsLine) + " bytes");
        }
        if (nl == nullptr) {
          line_.append(in);
          return true;
        }
        bool ok;
        if (line_.empty()) {
          ok = on_line(in.substr(0, n), out);
        } else {
          line_.append(in.data(), n);
          ok = on_line(line_, out);
          line_.clear();
        }
        if (!ok) return false;
        in.remove_prefix(n);
        break;
      }
    }
  }
  return state_ != State::kBroken;
}

// LINE ends with '\n'. Passed as it is, except INFO.
bool NatsServerStream::on_line(std::string_view line, std::string* out) {
  std::string_view text = strip_line_end(line);
  auto [verb, rest] = split_verb(text);
  if (iequals(verb, "INFO")) {
    auto rewritten = rewrite_info(text, how_);
    if (!rewritten) return fail("the server sent an INFO line that is not one JSON object");
    out->append(*rewritten);
    return true;
  }
  if (iequals(verb, "MSG") || iequals(verb, "HMSG")) {
    // MSG subject sid [reply] size; HMSG subject sid [reply] header_size total_size.
    const bool headers = verb.size() == 4;
    std::string why;
    auto size = message_size(rest, 2, headers, why);
    if (!size) return fail("the server sent " + why);
    out->append(line);
    expect_payload(*size);
    return true;
  }
  if (iequals(verb, "PING") || iequals(verb, "PONG") || iequals(verb, "+OK") ||
      iequals(verb, "-ERR") || text.empty()) {
    out->append(line);
    return true;
  }
  return fail("the server sent an operation a NATS server does not send to clients");
}

bool NatsClientStream::on_line(std::string_view line, std::string* /*out*/) {
  auto [verb, rest] = split_verb(strip_line_end(line));
  if (iequals(verb, "PUB") || iequals(verb, "HPUB")) {
    // PUB subject [reply] size; HPUB subject [reply] header_size total_size.
    std::string why;
    auto size = message_size(rest, 1, verb.size() == 4, why);
    if (!size) return fail("the client sent " + why);
    expect_payload(*size);
    return true;
  }
  if (iequals(verb, "CONNECT")) {
    refused_connect_ = true;
    return fail(
        "the client sent a second CONNECT; refused, as it would log the connection in again "
        "past the check of the first");
  }
  if (iequals(verb, "SUB") || iequals(verb, "UNSUB") || iequals(verb, "PING") ||
      iequals(verb, "PONG")) {
    return true;
  }
  return fail(
      "the client sent an operation a NATS client does not send; the gate cannot follow "
      "the stream past it");
}

}  // namespace tlsgate::net::starttls
