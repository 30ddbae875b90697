// MysqlNegotiation (net/starttls/mysql.h), driven as the session drives it:
// the backend's and the client's bytes, each side's stream split into reads
// by the fuzzer, TLS handshakes completing when the machine asks for them.
//
// Input (fuzz_records.h): option byte = tls_level (bits 0-1, mod 3),
// upstream_tls (bit 2), a user check that refuses users starting with 'x'
// (bit 3). Each record is the next read from whichever side the machine
// waits for, cut to the bytes it wants (as the session reads); a flagged
// record is fed whole, even past the end of its packet (must be refused); a
// flagged empty record is the backend going away (refuse()).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "net/starttls/mysql.h"

namespace {

using namespace tlsgate::net::starttls;
using Next = MysqlStep::Next;
using tlsgate::config::TlsLevel;

size_t le3(std::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | (static_cast<size_t>(static_cast<uint8_t>(b[at + 1])) << 8) |
         (static_cast<size_t>(static_cast<uint8_t>(b[at + 2])) << 16);
}

// `out` is whole packets; calls on_packet(seq, payload) for each.
template <typename F>
void check_packets(std::string_view out, F on_packet) {
  while (!out.empty()) {
    FUZZ_CHECK(out.size() >= 4);
    size_t n = le3(out, 0);
    FUZZ_CHECK(n <= kMaxMysqlNegotiationPacket);
    FUZZ_CHECK(out.size() >= 4 + n);
    on_packet(static_cast<uint8_t>(out[3]), out.substr(4, n));
    out.remove_prefix(4 + n);
  }
}

uint32_t le4(std::string_view b) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << (8 * i);
  return v;
}

TlsLevel level_of(uint8_t options) { return static_cast<TlsLevel>((options & 3) % 3); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlsgate::fuzz::Records records(data, size);
  uint8_t options = records.options();
  MysqlOptions o;
  o.level = level_of(options);
  o.upstream_tls = (options & 4) != 0;
  if (options & 8) {
    o.check_user = [](std::string_view user) -> std::string {
      return !user.empty() && user.front() == 'x' ? "refused by the fuzz user_map" : "";
    };
  }
  const bool checks_users = static_cast<bool>(o.check_user);
  bool refused_user = false;
  MysqlNegotiation n(std::move(o));

  bool client_tls = false, backend_tls = false;
  // Each side's packets as the harness reassembles them from the reads, and
  // the last sequence id seen from or sent to that side (-1: none yet).
  std::string backend_packet, client_packet;
  int backend_seq = -1, client_seq = -1;
  MysqlStep step = n.start();
  FUZZ_CHECK(step.next == Next::kReadBackend);
  for (int rounds = 0; rounds < 10000; ++rounds) {
    // The machine sends whole packets, each numbered on from that side's last
    // id. Under REQUIRED nothing a plaintext client sent reaches the backend;
    // with upstream TLS only our 32-byte SSL Request goes before its TLS.
    check_packets(step.to_client, [&](uint8_t seq, std::string_view) {
      if (client_seq >= 0) FUZZ_CHECK(seq == static_cast<uint8_t>(client_seq + 1));
      client_seq = seq;
    });
    check_packets(step.to_backend, [&](uint8_t seq, std::string_view payload) {
      FUZZ_CHECK(backend_seq >= 0 && seq == static_cast<uint8_t>(backend_seq + 1));
      backend_seq = seq;
      if ((options & 4) && !backend_tls) {
        FUZZ_CHECK(payload.size() == 32 && (le4(payload) & kClientSsl));
      }
    });
    if (!step.to_backend.empty() && level_of(options) == TlsLevel::kRequired)
      FUZZ_CHECK(client_tls);
    FUZZ_CHECK(n.client_on_tls() == client_tls);
    if (step.refused_plaintext) FUZZ_CHECK(!client_tls && step.next == Next::kClose);

    switch (step.next) {
      case Next::kReadBackend:
      case Next::kReadClient: {
        bool backend = step.next == Next::kReadBackend;
        size_t wanted = backend ? n.backend_bytes_wanted() : n.client_bytes_wanted();
        FUZZ_CHECK(wanted >= 1 && wanted <= 4 + kMaxMysqlNegotiationPacket);
        auto rec = records.next();
        if (!rec) return 0;
        if (rec->event()) {
          // The backend is gone: the client gets one ERR packet.
          std::string err = n.refuse(kErHandshakeError, "08S01", "backend gone");
          int packets = 0;
          check_packets(err, [&](uint8_t, std::string_view payload) {
            ++packets;
            FUZZ_CHECK(!payload.empty() && static_cast<uint8_t>(payload[0]) == 0xff);
          });
          FUZZ_CHECK(packets == 1);
          return 0;
        }
        // A plain record is one read of at most `wanted` bytes; a flagged
        // one is fed whole. Either may run past the end of the packet it
        // completes (a flagged one), which the machine must refuse.
        std::string_view chunk = rec->flag ? rec->data : rec->data.substr(0, wanted);
        std::string& packet = backend ? backend_packet : client_packet;
        bool overrun = false;
        for (char c : chunk) {
          if (packet.size() >= 4 && packet.size() == 4 + le3(packet, 0)) {
            overrun = true;
            break;
          }
          packet += c;
        }
        bool too_long = packet.size() >= 4 && le3(packet, 0) > kMaxMysqlNegotiationPacket;
        bool complete = !too_long && packet.size() >= 4 && packet.size() == 4 + le3(packet, 0);
        if (!backend && packet.size() >= 4) client_seq = static_cast<uint8_t>(packet[3]);
        if (backend && complete) backend_seq = static_cast<uint8_t>(packet[3]);
        step = backend ? n.from_backend(chunk) : n.from_client(chunk);
        if (complete || too_long) packet.clear();
        if (overrun || too_long) {
          FUZZ_CHECK(step.next == Next::kClose);  // never buffered past the packet
          FUZZ_CHECK(step.to_backend.empty());
        } else if (!complete) {
          FUZZ_CHECK(step.next == (backend ? Next::kReadBackend : Next::kReadClient));
          FUZZ_CHECK(step.to_client.empty() && step.to_backend.empty());
        }
        if (!backend && complete && checks_users && !n.user().empty() && n.user().front() == 'x' &&
            !refused_user) {
          refused_user = true;
          // A refused user never reaches the backend.
          FUZZ_CHECK(step.next == Next::kClose && step.to_backend.empty());
        }
        break;
      }
      case Next::kClientTls:
        FUZZ_CHECK(!client_tls && level_of(options) != TlsLevel::kDisabled);
        client_tls = true;
        step = n.client_tls_ready();
        FUZZ_CHECK(step.next == Next::kReadClient);
        break;
      case Next::kBackendTls:
        FUZZ_CHECK(!backend_tls && (options & 4));
        backend_tls = true;
        step = n.backend_tls_ready();
        break;
      case Next::kRelay:
        // Under REQUIRED a client reaches relay only through TLS.
        if (level_of(options) == TlsLevel::kRequired) FUZZ_CHECK(client_tls);
        return 0;
      case Next::kClose:
        FUZZ_CHECK(!step.reason.empty());
        return 0;
    }
  }
  return 0;
}
