// StartTlsClient (net/probe_starttls.h): the server's side of the STARTTLS
// exchanges `probe` speaks, split into reads by the fuzzer.
//
// Input (fuzz_records.h): option byte = protocol (postgres, mysql, nats; mod
// 3); each record is one read, cut to bytes_wanted() unless flagged (a
// server that sends more than asked for).
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_records.h"
#include "net/probe_starttls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate::net;
  using Action = StartTlsStep::Action;
  tlsgate::fuzz::Records records(data, size);
  auto protocol = static_cast<StartTlsProtocol>(1 + records.options() % 3);
  StartTlsClient c(protocol);
  auto step = c.start();
  size_t fed = 0;
  for (int reads = 0; reads < 100000 && step.action == Action::kRead; ++reads) {
    auto rec = records.next();
    if (!rec) return 0;
    size_t want = c.bytes_wanted();
    FUZZ_CHECK(want >= 1);
    std::string_view bytes = rec->data;
    if (!rec->flag && bytes.size() > want) bytes = bytes.substr(0, want);
    fed += bytes.size();
    step = c.consume(bytes);
    // Nothing a server says is held beyond the banner bound.
    if (step.action == Action::kRead) FUZZ_CHECK(fed <= kMaxBanner + 512);
  }
  if (step.action == Action::kFail) FUZZ_CHECK(!step.error.empty());
  for (const auto& f : c.facts()) {
    for (char ch : f.key + f.value) FUZZ_CHECK(ch >= 0x20 && ch < 0x7f);
  }
  if (step.action == Action::kStartTls && protocol == StartTlsProtocol::kMysql) {
    FUZZ_CHECK(step.send.size() == 36);
  }
  return 0;
}
