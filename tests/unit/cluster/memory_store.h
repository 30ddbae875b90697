// MemoryStore: the Store interface (cluster/store.h) in memory, with etcd's
// revision semantics, for the state machine's tests and the 100-member
// simulation. It counts writes, and can be made unreachable to stand for
// etcd being down.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "cluster/store.h"

namespace tlsgate::test {

class MemoryStore : public cluster::Store {
 public:
  util::Result<cluster::Snapshot> range(std::string_view prefix) override;
  util::Result<int64_t> put(std::string_view key, std::string_view value, int64_t lease) override;
  util::Result<bool> put_if(std::string_view key, std::string_view value,
                            int64_t expected_mod_revision) override;
  util::Result<bool> put_both_if(std::string_view key, std::string_view value,
                                 int64_t expected_mod_revision, std::string_view also_key,
                                 std::string_view also_value) override;
  util::Result<int64_t> transact(const std::vector<cluster::Condition>& when,
                                 const std::vector<cluster::Write>& then) override;
  util::Status remove(std::string_view key) override;
  util::Result<int64_t> grant_lease(std::chrono::seconds ttl) override;
  util::Status keep_alive(int64_t lease) override;
  util::Status watch(std::string_view prefix, int64_t start_revision,
                     const std::function<void(const cluster::WatchEvent&)>& on_event,
                     std::stop_token stop) override;

  // Drops the lease and every key attached to it (as its TTL running out would).
  void expire(int64_t lease);
  void set_down(bool down);
  int64_t writes() const { return writes_; }
  std::map<std::string, std::string> dump() const;

 private:
  util::Status check_up() const;
  int64_t write(const std::string& key, std::string value, int64_t lease);  // holds mu_
  void erase(const std::string& key);                                       // holds mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, cluster::KeyValue> kvs_;
  std::vector<cluster::WatchEvent> log_;  // every change, in revision order
  int64_t revision_ = 1;
  int64_t next_lease_ = 100;
  std::map<int64_t, bool> leases_;
  bool down_ = false;
  std::atomic<int64_t> writes_{0};
};

}  // namespace tlsgate::test
