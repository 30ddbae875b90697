// PostgresNegotiation (net/starttls/postgres.h), driven as the session drives
// it: the client's bytes before TLS, split into reads by the fuzzer.
//
// Input (fuzz_records.h): option byte = tls_level (mod 3); each record is one
// read from the client. A flagged record first calls tls_started(), which the
// session may do only after kStartTls (the StartupMessage then comes through
// TLS). The backend's side of PostgreSQL's negotiation is the one byte that
// answers the gate's own SSLRequest, read by the session itself, so there is
// no backend input to this machine.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "net/starttls/postgres.h"

namespace {

using namespace tlsgate::net::starttls;
using Action = PgStep::Action;
using tlsgate::config::TlsLevel;

uint32_t be32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlsgate::fuzz::Records records(data, size);
  auto level = static_cast<TlsLevel>(records.options() % 3);
  PostgresNegotiation n(level);
  std::string fed;  // bytes fed since the machine last emptied its buffer
  bool tls = false;
  bool may_start_tls = false;  // after kStartTls the session may call tls_started()
  for (int reads = 0; reads < 10000; ++reads) {
    auto rec = records.next();
    if (!rec) break;
    if (rec->flag) {
      if (!may_start_tls) break;
      n.tls_started();
      tls = true;
      may_start_tls = false;
      fed.clear();
    } else if (may_start_tls) {
      break;  // the session relays TLS bytes as they are
    }
    fed.append(rec->data);
    auto step = n.consume(rec->data);
    uint32_t length = fed.size() >= 4 ? be32(fed, 0) : 0;
    uint32_t code = fed.size() >= 8 ? be32(fed, 4) : 0;
    switch (step.action) {
      case Action::kNeedMore:
        FUZZ_CHECK(fed.size() < 8 || fed.size() < length);
        FUZZ_CHECK(step.reply.empty() && step.forward.empty());
        continue;
      case Action::kReply:
      case Action::kStartTls:
        // Exactly the 8-byte request, nothing after it (CVE-2021-23214), never inside TLS.
        FUZZ_CHECK(fed.size() == 8 && length == 8 && !tls);
        FUZZ_CHECK(code == kSslRequestCode || code == kGssEncRequestCode);
        if (step.action == Action::kStartTls) {
          FUZZ_CHECK(step.reply == "S" && code == kSslRequestCode && level != TlsLevel::kDisabled);
          may_start_tls = true;
        } else {
          FUZZ_CHECK(step.reply == "N");
        }
        fed.clear();
        continue;
      case Action::kRelay:
        // A whole StartupMessage of protocol 3, plaintext only where allowed.
        FUZZ_CHECK(length >= 8 && length <= kMaxStartupLength && fed.size() >= length);
        FUZZ_CHECK((code >> 16) == 3);
        FUZZ_CHECK(tls || level != TlsLevel::kRequired);
        FUZZ_CHECK(step.forward.size() >= length);
        FUZZ_CHECK(std::string_view(fed).substr(0, step.forward.size()) == step.forward);
        FUZZ_CHECK(step.forward.size() <= kMaxStartupLength + 8);
        if (fed.size() <= kMaxStartupLength + 8) FUZZ_CHECK(step.forward == fed);
        FUZZ_CHECK(step.user.size() < length);
        return 0;
      case Action::kCancel:
        FUZZ_CHECK(length == 16 && code == kCancelRequestCode);
        FUZZ_CHECK(step.forward == fed.substr(0, 16));
        return 0;
      case Action::kRefuse:
        FUZZ_CHECK(level == TlsLevel::kRequired && !tls);
        FUZZ_CHECK(!step.reply.empty() && step.reply[0] == 'E');
        FUZZ_CHECK(be32(step.reply, 1) + 1 == step.reply.size());
        FUZZ_CHECK(step.forward.empty());
        return 0;
      case Action::kError:
        FUZZ_CHECK(!step.reason.empty() && step.forward.empty());
        return 0;
    }
  }
  return 0;
}
