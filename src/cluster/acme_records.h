// The records of cluster-wide ACME (docs/CLUSTER.md "ACME across the
// cluster"; keys in records.h): the renewal lock of a scope, the challenges
// of the renewer's order in flight, and each node's acknowledgement that it
// answers them. Pure functions of the records a node's watch keeps (a map
// of key -> KeyValue), so the rules are unit-tested without etcd.
//
// A challenge record carries the key authorization (RFC 8555 8.1: token +
// "." + the account key's thumbprint; the CA and any http-01 client see it)
// and never a private key: neither the account key, nor the issued
// certificate's key (that one travels sealed in the replacement, as every
// replacement's key does), nor even the tls-alpn-01 challenge certificate's
// key — each node makes its own challenge certificate from the key
// authorization (pki/acme_challenge.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "cluster/records.h"
#include "cluster/store.h"
#include "util/result.h"

namespace tlsgate::cluster {

using KvMap = std::map<std::string, KeyValue>;

struct AcmeLock {
  std::string node;          // who renews the scope
  int64_t since = 0;         // unix seconds
  int64_t mod_revision = 0;  // of the lock key: the guard of the holder's proposal
  int64_t lease = 0;         // the holder's lease; the key vanishes with it
};

struct AcmeChallenge {
  acme::ChallengeKind kind = acme::ChallengeKind::kTlsAlpn01;
  std::string identifier;  // DNS name or IP literal, as in the order
  std::string token;
  std::string key_authorization;
  std::string renewer;  // the node whose order it is
  bool operator==(const AcmeChallenge&) const = default;
};

std::string to_json(const AcmeLock& lock);
std::string to_json(const AcmeChallenge& c);
util::Result<AcmeChallenge> parse_acme_challenge(const std::string& key, const std::string& json);

// The scope's lock, if some node holds it (an unreadable value is held by
// "?": still a lock, so nobody else takes it before its lease ends).
std::optional<AcmeLock> acme_lock(const Keys& keys, const std::string& scope, const KvMap& kvs);

// The lock as this node must take it now: nullopt when another node holds
// it with its live lease; else the condition to write it under (absent:
// mod_revision 0; held by `node` on an old lease of its own, lapsed while
// etcd was unreachable: that key's revision, so it is taken over at once).
std::optional<Condition> acme_lock_takeover(const Keys& keys, const std::string& scope,
                                            const KvMap& kvs, const std::string& node,
                                            int64_t lease);

// The challenges published for the scope, by token; unreadable ones are
// skipped and named in `problems`.
std::map<std::string, AcmeChallenge> acme_challenges(const Keys& keys, const std::string& scope,
                                                     const KvMap& kvs,
                                                     std::vector<std::string>* problems = nullptr);

// The nodes that are up (alive/<node>) and have not yet acknowledged
// answering every challenge written at or before `revision`, sorted.
std::vector<std::string> acme_not_answering(const Keys& keys, const std::string& scope,
                                            const KvMap& kvs, int64_t revision);

}  // namespace tlsgate::cluster
