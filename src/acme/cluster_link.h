// ClusterLink: what the Manager (manager.h) needs of the cluster for a
// policy in cluster.scopes (docs/ACME.md "In a cluster"). The cluster
// layer implements it (cluster/acme_link.h); acme knows no etcd.
//
// One node of the cluster renews a scope: the one holding the scope's lock
// (turn().mine). Only that node's Manager talks to the CA for the scope;
// it publishes its challenges through publisher(), which every node
// answers (each node's own answerer, given with answer_with()), and hands
// the pair it obtained to deliver(), which proposes it as a cluster
// replacement — the pair reaches the policy's files on every node, this
// one included, only through that replacement.
//
// Threads: every method may be called from any thread; publisher() and
// deliver() block for bounded times (etcd calls, the wait for the nodes to
// answer a challenge).
#pragma once

#include <string>

#include "acme/client.h"
#include "tls/certificate_pair.h"
#include "util/result.h"

namespace tlsgate::acme {

class ClusterLink {
 public:
  struct Turn {
    bool mine = false;   // this node holds the scope's renewal lock
    std::string holder;  // the node that holds it ("" nobody now)
    std::string busy;    // a replacement of the scope is on its way: which, in words ("" none)
  };
  virtual ~ClusterLink() = default;
  virtual Turn turn(const std::string& scope) = 0;
  // The challenges of this node's order go to every node through it.
  virtual ChallengeResponder& publisher(const std::string& scope) = 0;
  // Proposes the pair as the scope's replacement, only while this node
  // still holds the lock (checked in the same etcd transaction).
  virtual util::Status deliver(const std::string& scope, const tls::CertificatePair& pair) = 0;
  // The responder that answers, on this node, the challenges any node
  // publishes for the scope. Must outlive the link's use of it.
  virtual void answer_with(const std::string& scope, ChallengeResponder& local) = 0;
};

}  // namespace tlsgate::acme
