// AcmeLink: acme::ClusterLink (acme/cluster_link.h) on a cluster Node —
// cluster-wide ACME (docs/CLUSTER.md "ACME across the cluster").
//
// turn(): this node renews a scope while acme/lock/<scope> names it on its
// current lease (the Node takes the lock, node_acme.cc). It is busy while a
// replacement of the scope is in flight: one this node delivered and has not
// yet seen resolved, the scope's open one, or a committed one this node has
// not applied yet — so the renewer never orders twice for one renewal.
//
// publisher(): publish() writes acme/challenges/<scope>/<token> on the
// lock's lease, then waits (at most answer_timeout) until every node that
// is up acknowledges answering it; a node that does not is named in a
// warning and the CA is asked anyway (it may not be the one the CA reaches).
// withdraw() deletes the record; every node withdraws its answer.
//
// deliver(): propose() (propose.h) with the lock key's mod_revision as the
// guard of the same etcd transaction that takes the scope's slot and writes
// the record. The guarantee: a replacement is written only if, at the
// revision of that write, the lock key is the one this node wrote — its
// lease had not expired (etcd deletes a lease's keys when it does) and no
// other node had taken the lock. The CA may still have been asked twice
// around a handover (the old renewer's order in flight when its lease
// lapsed); only one of the two certificates is ever proposed.
//
// Threads: any; the Manager's thread calls it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "acme/cluster_link.h"
#include "cluster/node.h"
#include "util/mutex.h"

namespace tlsgate::cluster {

class AcmeLink final : public acme::ClusterLink {
 public:
  AcmeLink(Node& node, std::chrono::seconds answer_timeout = std::chrono::seconds(10));
  ~AcmeLink() override;

  Turn turn(const std::string& scope) override;
  acme::ChallengeResponder& publisher(const std::string& scope) override;
  util::Status deliver(const std::string& scope, const tls::CertificatePair& pair) override;
  void answer_with(const std::string& scope, acme::ChallengeResponder& local) override;

 private:
  class Publisher;
  Node& node_;
  std::chrono::seconds answer_timeout_;
  util::Mutex mu_;
  std::map<std::string, std::unique_ptr<Publisher>> publishers_ GUARDED_BY(mu_);
  std::map<std::string, std::string> delivered_ GUARDED_BY(mu_);  // scope -> replacement id
};

}  // namespace tlsgate::cluster
