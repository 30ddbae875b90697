#include "tls/peer_identity.h"

#include <algorithm>

#include "pki/certificate_info.h"
#include "pki/pin.h"
#include "util/clock.h"
#include "util/strings.h"

namespace tlsgate::tls {

namespace {

// A name with a control byte is no identity: `admin\0.evil` matches nothing
// here, but a backend that reads the PROXY header's identity as a C string
// would see `admin` (review s23, security finding 4).
std::vector<std::string> usable(std::vector<std::string> names) {
  std::erase_if(names, [](const std::string& n) {
    return n.empty() || std::any_of(n.begin(), n.end(), [](char c) {
             auto b = static_cast<unsigned char>(c);
             return b < 0x20 || b == 0x7f;
           });
  });
  return names;
}

// Every name of kind `from` the certificate carries, usable or not.
std::vector<std::string> names_of(const X509* cert, config::IdentityFrom from) {
  auto info = pki::describe(cert, util::SystemClock::instance());
  switch (from) {
    case config::IdentityFrom::kSubject:
      return {info.subject};
    case config::IdentityFrom::kCn:
      return info.subject_cn.empty() ? std::vector<std::string>{} : std::vector{info.subject_cn};
    case config::IdentityFrom::kSanEmail:
      return info.san_email;
    case config::IdentityFrom::kSanDns:
      return info.san_dns;
    case config::IdentityFrom::kSanUri:
      return info.san_uri;
  }
  return {};
}

}  // namespace

std::vector<std::string> identities_of(const X509* cert, config::IdentityFrom from) {
  return usable(names_of(cert, from));
}

util::Result<PeerIdentity> check_peer(const SSL* ssl, const Context& ctx) {
  return check_peer_certificate(SSL_get0_peer_certificate(ssl), ctx);
}

util::Result<PeerIdentity> check_peer_certificate(const X509* cert, const Context& ctx) {
  PeerIdentity peer;
  const auto& policy = ctx.policy;
  std::string prefix = "ssl.policy." + policy.scope + ".";
  const char* who = ctx.side == Side::kServer ? "client" : "server";
  if (cert == nullptr) {
    // OpenSSL does not ask a resumed session for a certificate: a ticket
    // issued under OPTIONAL, without one, would get in after a reload to
    // REQUIRE (review s23, security finding 2).
    if (ctx.side == Side::kServer && policy.client_auth == config::ClientAuth::kRequire &&
        !policy.trust_all) {
      return util::fail("client sent no certificate, but " + prefix + "client_auth is REQUIRE");
    }
    if (!policy.allowed_identities.empty() || !ctx.pins.empty()) {
      return util::fail(std::string(who) + " sent no certificate, but " + prefix +
                        (ctx.pins.empty() ? "allowed_identities" : "pinned_certs") +
                        " requires one");
    }
    return peer;
  }
  peer.presented = true;
  auto candidates = identities_of(cert, policy.identity_from);
  peer.subject = pki::describe(cert, util::SystemClock::instance()).subject;
  if (policy.trust_all) {
    peer.identity = candidates.empty() ? "" : candidates.front();
    return peer;
  }
  if (!ctx.pins.empty()) {
    auto pin = pki::spki_sha256(cert);
    if (ctx.pins.count(pin) == 0) {
      return util::fail(std::string(who) + " certificate " + peer.subject + " (pin sha256:" +
                        util::hex(pin) + ") is not in " + prefix + "pinned_certs");
    }
  }
  if (policy.allowed_identities.empty()) {
    peer.identity = candidates.empty() ? "" : candidates.front();
    return peer;
  }
  for (const auto& id : candidates) {
    if (std::find(policy.allowed_identities.begin(), policy.allowed_identities.end(), id) !=
        policy.allowed_identities.end()) {
      peer.identity = id;
      return peer;
    }
  }
  std::string shown;
  if (candidates.empty()) {
    auto names = names_of(cert, policy.identity_from);
    shown = names.empty() ? " (it has no " + config::to_string(policy.identity_from) + ")"
                          : " (its " + config::to_string(policy.identity_from) + " \"" +
                                util::join(names, "\", \"") +
                                "\" holds a control character, so it is no identity)";
  } else if (policy.identity_from != config::IdentityFrom::kSubject) {
    shown =
        " (" + config::to_string(policy.identity_from) + " " + util::join(candidates, ", ") + ")";
  }
  return util::fail(std::string(who) + " certificate " + peer.subject + shown + " is not in " +
                    prefix + "allowed_identities");
}

}  // namespace tlsgate::tls
