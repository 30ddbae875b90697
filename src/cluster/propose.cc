#include "cluster/propose.h"

#include <openssl/rand.h>

#include <openssl/x509v3.h>

#include <cctype>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cluster/replacement.h"
#include "pki/certificate_info.h"
#include "pki/loader.h"
#include "util/strings.h"

namespace tlsgate::cluster {
namespace {

// Sorts by time: ids are listed oldest first.
std::string new_id(util::SystemTime now) {
  unsigned char r[4] = {};
  RAND_bytes(r, sizeof r);
  auto t =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(now));
  return fmt::format("{:%Y%m%dT%H%M%SZ}-{}", fmt::gmtime(t),
                     util::hex(std::string_view(reinterpret_cast<const char*>(r), sizeof r)));
}

// After a failed guarded write: whether the guard still holds (else the
// slot was what failed).
bool guard_holds(Store& store, const Condition& guard) {
  auto snap = store.range(guard.key);
  if (!snap) return true;  // unknown: say the slot failed, the general message
  for (const auto& kv : snap->kvs) {
    if (kv.key == guard.key) return kv.mod_revision == guard.mod_revision;
  }
  return guard.mod_revision == 0;
}

}  // namespace

tl::expected<std::string, ProposalRefusal> propose(Store& store, const Keys& keys,
                                                   const pki::SecretBox& box, const Proposal& p,
                                                   const tls::PairTarget& local_target,
                                                   const util::Clock& clock) {
  ProposalRefusal refusal;
  auto refuse = [&](std::string why) {
    refusal.reasons.push_back(std::move(why));
    return tl::unexpected(refusal);
  };
  auto snap = store.range(keys.base);
  if (!snap) return refuse(snap.error().message());
  auto view = read_view(keys, snap->kvs);

  tls::PairTarget target = local_target;
  target.extra_trust_pem = p.trust_pem;
  auto certs = pki::parse_certificates(p.pair.certificate_pem, p.pair.certificate_source());
  if (auto checked = tls::check_pair(p.pair, target, clock); !checked) {
    refusal.reasons = checked.error().reasons;
  }
  if (certs && !certs->empty()) {
    X509* leaf = (*certs)[0].get();
    for (const auto& [node, member] : view.members) {
      auto it = member.listen_hosts.find(p.scope);
      if (it == member.listen_hosts.end()) continue;
      for (const auto& host : it->second) {
        if (!tls::names_cover(leaf, host)) {
          refusal.reasons.push_back("member " + node + " listens on \"" + host +
                                    "\" for ssl.policy." + p.scope +
                                    ", which the new certificate does not name; add it to the "
                                    "certificate's subjectAltName");
        }
      }
    }
  }
  if (!refusal.reasons.empty()) return tl::unexpected(refusal);
  const auto info = pki::describe((*certs)[0].get(), clock);

  // One replacement in flight per scope.
  int64_t slot_revision = 0;
  if (auto open = view.open.find(p.scope); open != view.open.end()) {
    auto holder = view.replacements.find(open->second.first);
    if (holder != view.replacements.end() &&
        holder->second.record.state == RecordState::kProposed) {
      return refuse(
          "replacement " + holder->first + " of scope " + p.scope +
          " is still in flight; wait for it to commit, or abort it with: tlsgate cluster abort " +
          holder->first);
    }
    slot_revision = open->second.second;
  }
  Replacement r;
  r.id = new_id(clock.now());
  r.scope = p.scope;
  r.proposer = p.proposer;
  r.proposed_at = unix_seconds(clock.now());
  r.certificate_pem = p.pair.certificate_pem;
  auto sealed = box.seal(p.pair.private_key_pem, r.sealing_context());
  if (!sealed) return refuse(sealed.error().message());
  r.key = std::move(*sealed);
  r.trust_pem = p.trust_pem;
  r.serial = info.serial_hex;
  r.not_after = unix_seconds(info.not_after);
  r.immediate = p.immediate;
  // The slot and the record in one transaction: a proposer that reads
  // between two separate writes would see a slot without its record, take
  // it over, and two replacements of one scope would be in flight.
  util::Result<bool> won = false;
  if (p.guard) {
    auto written = store.transact(
        {Condition{keys.open(p.scope), slot_revision}, *p.guard},
        {Write{keys.open(p.scope), r.id}, Write{keys.replacement(r.id), to_json(r)}});
    if (!written) return refuse(written.error().message());
    won = *written != 0;
    if (!*won && !guard_holds(store, *p.guard)) {
      return refuse("the lock " + p.guard->key +
                    " is no longer held by this node (its lease expired or another node took "
                    "it), so nothing was proposed; the node that holds it now renews");
    }
  } else {
    won = store.put_both_if(keys.open(p.scope), r.id, slot_revision, keys.replacement(r.id),
                            to_json(r));
  }
  if (!won) return refuse(won.error().message());
  if (!*won) {
    return refuse("another replacement of scope " + p.scope +
                  " was proposed at the same moment and won; see tlsgate cluster status");
  }
  return r.id;
}

util::Status abort_replacement(Store& store, const Keys& keys, const std::string& id,
                               const std::string& who, const util::Clock& clock) {
  auto snap = store.range(keys.replacement(id));
  if (!snap) return util::fail(snap.error());
  const KeyValue* kv = nullptr;
  for (const auto& k : snap->kvs) {
    if (k.key == keys.replacement(id)) kv = &k;
  }
  if (!kv) return util::fail("no replacement " + id + "; see tlsgate cluster status for the ids");
  auto r = parse_replacement(kv->key, kv->value);
  if (!r) return util::fail(r.error());
  if (r->state != RecordState::kProposed) {
    return util::fail("replacement " + id + " is " + to_string(r->state) +
                      " already; only a proposed one can be aborted");
  }
  r->state = RecordState::kAborted;
  r->commit_reason = "aborted by " + who;
  r->decided_by = who;
  r->decided_at = unix_seconds(clock.now());
  auto won = store.put_if(kv->key, to_json(*r), kv->mod_revision);
  if (!won) return util::fail(won.error());
  if (!*won)
    return util::fail("replacement " + id +
                      " changed meanwhile (a node committed it?); see tlsgate cluster status");
  return {};
}

std::string issuer_key(const X509* issuer) {
  std::string hex;
  for (char c : pki::fingerprint_sha256(issuer)) {
    if (c != ':') hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return hex;
}

util::Status retire_trust(Store& store, const Keys& keys, const std::string& scope,
                          const std::string& issuer_pem, const std::string& current_certificate,
                          const std::string& who, const util::Clock& clock) {
  auto issuers = pki::parse_certificates(issuer_pem, "the issuer to retire");
  if (!issuers) return util::fail(issuers.error());
  if (issuers->size() != 1) {
    return util::fail("the issuer file must hold exactly one certificate; it holds " +
                      std::to_string(issuers->size()));
  }
  X509* issuer = (*issuers)[0].get();
  auto in_use = [&](const std::string& pem, const std::string& whose) -> util::Status {
    auto certs = pki::parse_certificates(pem, whose);
    if (!certs) return {};
    for (const auto& c : *certs) {
      if (X509_check_issued(issuer, c.get()) == X509_V_OK) {
        return util::fail("issuer " + pki::subject_of(issuer) + " still issued " + whose + " (" +
                          pki::subject_of(c.get()) +
                          "); replace that certificate first, then retire its issuer");
      }
    }
    return {};
  };
  if (auto used =
          in_use(current_certificate, "the certificate this node serves for scope " + scope);
      !used) {
    return used;
  }
  auto snap = store.range(keys.base);
  if (!snap) return util::fail(snap.error());
  auto view = read_view(keys, snap->kvs);
  if (const Entry* e = newest_committed(view, scope)) {
    if (auto used =
            in_use(e->record.certificate_pem, "replacement " + e->record.id + "'s certificate");
        !used) {
      return used;
    }
  }
  nlohmann::json record{
      {"subject", pki::subject_of(issuer)}, {"by", who}, {"at", unix_seconds(clock.now())}};
  auto put = store.put(keys.retired(scope, issuer_key(issuer)), record.dump());
  if (!put) return util::fail(put.error());
  return {};
}

}  // namespace tlsgate::cluster
