// Manager's part that talks to the CA (manager.h): the directory and the
// account, and one order up to the new pair in the policy's files, or in
// the cluster's replacement.
#include <spdlog/spdlog.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "acme/account_store.h"
#include "acme/manager.h"
#include "acme/manager_job.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "pki/loader.h"
#include "tls/certificate_pair.h"
#include "util/secret.h"

namespace tlsgate::acme {

util::Status Manager::open_directory(Job& job) {
  if (job.client) return {};
  const auto& p = job.policy;
  auto account_key = load_or_create_account_key(config_.server.state_dir, p.acme_directory);
  if (!account_key) return util::fail(account_key.error());
  auto client = Client::open(ClientOptions{.directory_url = p.acme_directory,
                                           .ca_bundle = p.acme_ca_bundle,
                                           .request_timeout = options_.request_timeout},
                             std::move(*account_key));
  if (!client) return util::fail(client.error());
  job.client = std::move(*client);
  job.registered = false;
  return {};
}

util::Status Manager::renew(Job& job, const std::stop_token& stop) {
  const auto& p = job.policy;
  if (auto opened = open_directory(job); !opened) return opened;
  if (!job.registered) {
    auto account = job.client->register_account(p.acme_email, job.eab);
    if (!account) return util::fail(account.error());
    spdlog::info("ssl.policy.{}.acme_directory: ACME account {}", p.scope, *account);
    job.registered = true;
  }
  pki::KeySpec spec;
  if (p.acme_key_type == config::AcmeKeyType::kRsa2048) spec.type = pki::KeySpec::Type::kRsa;
  auto key = pki::generate_key(spec);
  if (!key) return util::fail(key.error());

  OrderInput order{.identifiers = job.names,
                   .challenge = p.acme_challenge == config::AcmeChallenge::kHttp01
                                    ? ChallengeKind::kHttp01
                                    : ChallengeKind::kTlsAlpn01,
                   .certificate_key = key->get(),
                   .replaces = std::nullopt};
  if (job.client->has_renewal_info()) {
    if (auto certs = pki::load_certificates(p.public_certificate); certs) {
      if (auto id = Client::ari_certificate_id(certs->front().get()); id) order.replaces = *id;
    }
  }
  auto chain = job.client->obtain(order, *job.responder, stop);
  if (!chain) return util::fail(chain.error());

  // What the CA sent must serve the names with the key made here.
  auto certs = pki::parse_certificates(*chain, "the certificate from " + p.acme_directory);
  if (!certs) return util::fail(certs.error());
  const X509* leaf = certs->front().get();
  if (auto st = pki::check_key_matches(leaf, key->get(), "the certificate from the ACME server",
                                       "the key made for it");
      !st) {
    return util::fail(st.error());
  }
  for (const auto& name : job.names) {
    if (!tls::names_cover(leaf, name)) {
      return util::fail("the certificate from " + p.acme_directory + " does not name " + name);
    }
  }
  auto key_pem = pki::private_key_pem(key->get(), std::nullopt);
  if (!key_pem) return util::fail(key_pem.error());
  tls::CertificatePair pair{
      .certificate_pem = *chain, .private_key_pem = *key_pem, .origin = "ACME"};
  auto info = pki::describe(leaf, util::SystemClock::instance());
  if (job.cluster) {
    // Every node, this one too, takes it from the replacement.
    auto delivered = job.cluster->deliver(p.scope, pair);
    util::wipe(pair.private_key_pem);
    if (!delivered) {
      return util::fail(
          "the certificate (serial " + info.serial_hex +
          ") was obtained but not proposed to the cluster: " + delivered.error().message());
    }
    spdlog::info(
        "ssl.policy.{}.acme_directory: certificate obtained: {} (serial {}), valid until "
        "{:%Y-%m-%d %H:%M:%S} UTC, proposed to the cluster as a replacement",
        p.scope, info.subject, info.serial_hex, info.not_after);
    return {};
  }
  if (auto st = tls::install_pair(pair, p); !st) return st;
  // Said once new handshakes get it: the line means "in service".
  if (auto st = host_.reload(p.scope); !st) {
    return util::fail("the certificate (serial " + info.serial_hex + ") was written to " +
                      p.public_certificate.string() +
                      " but the gate did not take it: " + st.error().message());
  }
  spdlog::info(
      "ssl.policy.{}.acme_directory: certificate obtained: {} (serial {}), valid until "
      "{:%Y-%m-%d %H:%M:%S} UTC, written to {} and served",
      p.scope, info.subject, info.serial_hex, info.not_after, p.public_certificate.string());
  return {};
}

}  // namespace tlsgate::acme
