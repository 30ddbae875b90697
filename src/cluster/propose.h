// The operator's side of a replacement: propose, abort (issue 15).
// `tlsgate cluster replace-cert|abort` and the admin API call these; the
// nodes do the rest (node.h).
//
// propose() refuses, before anything is written, a pair whose key does not
// match, that is expired, whose chain does not verify against the scope's
// trust on the proposing node (plus the issuer to trust first, if given), or
// whose names do not cover a member's published listen hosts (naming the
// member). Then it takes the scope's open/<scope> slot (one replacement in
// flight per scope: a second proposer gets an error naming the first) and
// writes the record, the key sealed with the cluster secret.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/records.h"
#include "cluster/store.h"
#include "pki/secret_box.h"
#include "tls/certificate_pair.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::cluster {

struct Proposal {
  std::string scope;
  tls::CertificatePair pair;
  std::string trust_pem;  // a new issuer for every node's trust first ("" none)
  bool immediate = false;
  std::string proposer;  // "tlsgate cluster replace-cert on node-1", "admin API, identity ..."
  // When set, the slot and the record are written only if this key still
  // has this mod_revision, in the same etcd transaction: the cluster's ACME
  // renewer proposes only while it holds acme/lock/<scope> (acme_link.h).
  std::optional<Condition> guard;
};

struct ProposalRefusal {
  std::vector<std::string> reasons;
};

// The id written, or every reason it was refused (or the etcd error).
tl::expected<std::string, ProposalRefusal> propose(Store& store, const Keys& keys,
                                                   const pki::SecretBox& box,
                                                   const Proposal& proposal,
                                                   const tls::PairTarget& local_target,
                                                   const util::Clock& clock);

// Marks a proposed replacement aborted; a committed one cannot be.
util::Status abort_replacement(Store& store, const Keys& keys, const std::string& id,
                               const std::string& who, const util::Clock& clock);

// Asks every node to drop `issuer_pem` from the scope's trusted_dir (after a
// replacement brought a new issuer). Refused while the scope's certificate
// on this node, or the newest committed replacement, was issued by it.
util::Status retire_trust(Store& store, const Keys& keys, const std::string& scope,
                          const std::string& issuer_pem, const std::string& current_certificate,
                          const std::string& who, const util::Clock& clock);

// The key of an issuer in retired/<scope>/: its SHA-256 fingerprint, hex.
std::string issuer_key(const X509* issuer);

}  // namespace tlsgate::cluster
