// NatsNegotiation, NatsServerStream and NatsClientStream (net/starttls/nats.h,
// nats_stream.h), driven as the session drives them, and rewrite_info on its
// own.
//
// Input (fuzz_records.h): option byte: bits 0-1 tls_level (mod 3), bit 2
// upstream TLS, bit 3 upstream_tls_first, bit 4 user_map (users starting
// with 'a' are allowed), bit 5 advertise set, bit 6 client certificates
// required. Each record answers what the last step awaits: bytes from the
// backend or the client, the client's first byte (a flagged record: the
// window passed), a TLS handshake done. After kRelay every record is bytes
// from the backend for the stream filter (and, with user_map, from the client
// for the client's stream); a flagged one is also given to rewrite_info as a
// line of its own.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "net/starttls/nats.h"
#include "net/starttls/nats_json.h"

namespace {

using namespace tlsgate::net::starttls;
using Next = NatsStep::Next;
using tlsgate::config::TlsLevel;

void check_info(std::string_view line, const NatsInfoRewrite& how) {
  auto out = rewrite_info(line, how);
  if (!out) return;
  FUZZ_CHECK(out->starts_with("INFO {") && out->ends_with("}\r\n"));
  auto json = nats_line_json(*out, "INFO");
  FUZZ_CHECK(json);
  auto members = json_object_members(*json);
  FUZZ_CHECK(members);
  int required = 0;
  for (const auto& m : *members) {
    FUZZ_CHECK(m.key != "ip" && m.key != "ws_connect_urls");
    if (m.key == "connect_urls") {
      FUZZ_CHECK(!how.advertise.empty());
      FUZZ_CHECK(m.value == "[\"gate1:4222\",\"gate2:4222\"]");
    }
    if (m.key == "tls_required") {
      ++required;
      FUZZ_CHECK(m.value == (how.tls_required ? "true" : "false"));
    }
    if (m.key == "host" && !how.host.empty()) FUZZ_CHECK(m.value == "\"gate1\"");
  }
  FUZZ_CHECK(required == 1);
  // Rewriting is idempotent.
  auto again = rewrite_info(std::string_view(*out).substr(0, out->size() - 2), how);
  FUZZ_CHECK(again && *again == *out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlsgate::fuzz::Records records(data, size);
  const uint8_t o = records.options();
  NatsOptions options;
  options.level = static_cast<TlsLevel>((o & 3) % 3);
  options.upstream_tls = (o & 4) != 0;
  options.upstream_tls_first = (o & 8) != 0;
  bool asked = false;
  if ((o & 16) != 0) {
    options.check_user = [&asked](std::string_view user) {
      asked = true;
      return !user.empty() && user[0] == 'a' ? std::string() : std::string("refused");
    };
  }
  if ((o & 32) != 0) {
    options.advertise = {"gate1:4222", "gate2:4222"};
    options.advertise_host = "gate1";
    options.advertise_port = 4222;
  }
  options.client_certificates_required = (o & 64) != 0;
  const bool checks_users = static_cast<bool>(options.check_user);
  const TlsLevel level = options.level;

  NatsNegotiation n(std::move(options));
  NatsStep step = n.start();
  std::string from_client;  // client bytes fed
  int infos_sent = 0;
  for (int i = 0; i < 1000 && step.next != Next::kRelay && step.next != Next::kClose; ++i) {
    if (!step.to_client.empty() && step.to_client.starts_with("INFO ")) ++infos_sent;
    FUZZ_CHECK(step.to_backend.empty());  // only CONNECT, at kRelay
    auto rec = records.next();
    if (!rec) return 0;
    switch (step.next) {
      case Next::kReadBackend:
        step = n.from_backend(rec->data);
        break;
      case Next::kReadClient:
        from_client.append(rec->data);
        step = n.from_client(rec->data);
        break;
      case Next::kPeekClient:
        if (rec->flag && !step.windowed) return 0;  // no timeout once INFO is out
        step = n.client_first(rec->flag || rec->data.empty()
                                  ? std::nullopt
                                  : std::optional<unsigned char>(rec->data[0]));
        break;
      case Next::kClientTls:
        step = n.client_tls_ready();
        break;
      case Next::kBackendTls:
        step = n.backend_tls_ready();
        break;
      case Next::kRelay:
      case Next::kClose:
        break;
    }
  }
  if (!step.to_client.empty() && step.to_client.starts_with("INFO ")) ++infos_sent;
  FUZZ_CHECK(infos_sent <= 1);
  if (step.next == Next::kClose) {
    FUZZ_CHECK(!step.reason.empty());
    FUZZ_CHECK(step.to_backend.empty());
    if (step.refused_plaintext) {
      FUZZ_CHECK(level == TlsLevel::kRequired && !n.client_on_tls());
      FUZZ_CHECK(step.to_client.ends_with(kNatsTlsRequired));
    }
    if (step.refused_user) FUZZ_CHECK(step.to_client.ends_with(kNatsAuthViolation));
    return 0;
  }
  if (step.next != Next::kRelay) return 0;
  FUZZ_CHECK(infos_sent == 1);
  FUZZ_CHECK(n.client_on_tls() || level != TlsLevel::kRequired);
  if (checks_users) {
    FUZZ_CHECK(asked && step.to_backend == from_client);
  } else {
    FUZZ_CHECK(step.to_backend.empty());
  }

  // The relay: fed in the fuzzer's reads, then whole; same answer, bounded.
  // With user_map the client's side is followed too: the stream the
  // negotiation began gets the same reads, and so does a fresh one, which
  // must then agree with one fed them whole.
  auto up = n.take_client_stream();
  FUZZ_CHECK(static_cast<bool>(up) == checks_users);
  NatsClientStream up_split;
  bool up_ok = up != nullptr, up_split_ok = up_ok;
  std::string up_in;
  const auto how = n.rewrite();
  NatsServerStream split(how);
  std::string in = n.backend_rest(), out_split;
  bool ok = split.feed(in, out_split);
  for (int i = 0; i < 1000 && (ok || up_split_ok); ++i) {
    auto rec = records.next();
    if (!rec) break;
    if (up_ok) up_ok = up->feed(rec->data);
    if (up_split_ok) {
      up_in.append(rec->data);
      up_split_ok = up_split.feed(rec->data);
      FUZZ_CHECK(up->held() <= kMaxNatsLine && up_split.held() <= kMaxNatsLine);
    }
    if (!ok) continue;
    if (rec->flag) check_info(rec->data, how);
    in.append(rec->data);
    ok = split.feed(rec->data, out_split);
    FUZZ_CHECK(split.held() <= kMaxNatsLine);
  }
  if (up) {
    FUZZ_CHECK(up_ok || !up->error().empty());
    NatsClientStream up_whole;
    const bool up_whole_ok = up_whole.feed(up_in);
    FUZZ_CHECK(up_whole_ok == up_split_ok && up_whole.error() == up_split.error() &&
               up_whole.refused_connect() == up_split.refused_connect());
  }
  NatsServerStream whole(how);
  std::string out_whole;
  bool ok_whole = whole.feed(in, out_whole);
  if (ok) {
    FUZZ_CHECK(ok_whole && out_whole == out_split);
    // What the client got goes through unchanged a second time.
    NatsServerStream again(how);
    std::string out_again;
    FUZZ_CHECK(again.feed(out_whole, out_again) && out_again == out_whole);
  } else {
    FUZZ_CHECK(!split.error().empty());
  }
  return 0;
}
