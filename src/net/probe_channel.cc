// open_channel() (net/probe.h): TCP, then the STARTTLS exchange of
// net/probe_starttls.h over the socket, each read bounded by the deadline.
#include "net/probe.h"

#include <chrono>

#include "net/dial.h"
#include "net/probe_io.h"
#include "tls/failure_reason.h"

namespace tlsgate::net {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

ProbeFailure probe_failure(ProbeStep step, tls::FailureReason reason, std::string message) {
  return ProbeFailure{step, std::string(tls::reason_name(reason)), std::move(message)};
}

std::string_view step_name(ProbeStep step) {
  switch (step) {
    case ProbeStep::kDns:
      return "dns";
    case ProbeStep::kTcp:
      return "tcp";
    case ProbeStep::kStartTls:
      return "starttls";
    case ProbeStep::kHandshake:
      return "handshake";
    case ProbeStep::kVerification:
      break;
  }
  return "verification";
}

tl::expected<Channel, ProbeFailure> open_channel(const ProbeOptions& o, Clock::time_point deadline,
                                                 std::vector<Fact>* failure_facts) {
  const std::string peer = config::to_string(o.target);
  auto socket = dial(o.target, deadline);
  if (!socket) {
    const auto& e = socket.error();
    if (e.resolving) {
      return tl::unexpected(probe_failure(ProbeStep::kDns, tls::FailureReason::kConnectFailed,
                                          "cannot resolve " + o.target.host + ": " + e.reason));
    }
    return tl::unexpected(probe_failure(
        ProbeStep::kTcp,
        e.timed_out ? tls::FailureReason::kTimeout : tls::FailureReason::kConnectFailed,
        "cannot connect to " + peer + ": " +
            (e.timed_out ? "no answer within " + seconds_text(o.timeout) : e.reason)));
  }
  Channel ch;
  ch.fd = std::move(*socket);
  ch.address = peer_address(ch.fd.get());
  StartTlsClient client(o.starttls);
  const std::string who = peer + " (" + std::string(protocol_name(o.starttls)) + ")";
  auto fail = [&](tls::FailureReason reason, const std::string& why) {
    if (failure_facts != nullptr) *failure_facts = client.facts();
    return tl::unexpected(probe_failure(ProbeStep::kStartTls, reason, who + ": " + why));
  };
  StartTlsStep step = client.start();
  for (int i = 0; i < 100000; ++i) {  // each turn reads at least one byte of a bounded banner
    if (!step.send.empty()) {
      auto sent = send_all(ch.fd.get(), step.send, deadline);
      if (!sent) return fail(tls::FailureReason::kOther, sent.error());
    }
    if (step.action == StartTlsStep::Action::kStartTls) {
      ch.pre_tls = client.facts();
      return ch;
    }
    if (step.action == StartTlsStep::Action::kFail)
      return fail(tls::FailureReason::kOther, step.error);
    auto bytes = read_some(ch.fd.get(), client.bytes_wanted(), deadline);
    if (!bytes) {
      bool timed_out = bytes.error().empty();
      return fail(timed_out ? tls::FailureReason::kTimeout : tls::FailureReason::kOther,
                  timed_out ? "no complete STARTTLS answer within " + seconds_text(o.timeout)
                            : bytes.error() + " during the STARTTLS exchange");
    }
    step = client.consume(*bytes);
  }
  return fail(tls::FailureReason::kOther, "the STARTTLS exchange did not end");
}

}  // namespace tlsgate::net
