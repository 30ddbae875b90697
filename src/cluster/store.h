// Store: the few etcd v3 calls the cluster layer makes, behind one small
// interface (issue 15), so that the replacement state machine is tested on an
// in-memory fake and runs on a real etcd through EtcdStore (etcd_store.h).
//
// Every call is synchronous, bounded in time (a call that cannot reach any
// endpoint within its deadline fails with an Error that names the endpoints
// tried and what each said) and safe to make from several threads at once.
// Keys and values are bytes (std::string); the store does not interpret them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tlsgate::cluster {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;  // the revision that last wrote this key
  int64_t lease = 0;         // 0: not attached to a lease
};

struct Snapshot {
  std::vector<KeyValue> kvs;  // sorted by key
  int64_t revision = 0;       // the store's revision when the read was served
};

// One comparison of a transaction (Store::transact): the key's mod_revision
// must equal `mod_revision` (0: the key must not exist).
struct Condition {
  std::string key;
  int64_t mod_revision = 0;
};

// One write of a transaction: put key = value (on `lease` when not 0), or
// delete key when `remove`.
struct Write {
  std::string key;
  std::string value;
  int64_t lease = 0;
  bool remove = false;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // kDelete: key and mod_revision only
};

class Store {
 public:
  virtual ~Store() = default;

  // Every key that starts with `prefix`, read at one revision.
  virtual util::Result<Snapshot> range(std::string_view prefix) = 0;

  // Writes key = value (attached to `lease` when not 0). Returns the
  // revision of the write.
  virtual util::Result<int64_t> put(std::string_view key, std::string_view value,
                                    int64_t lease = 0) = 0;

  // Compare-and-put, one etcd transaction: writes key = value only if the
  // key's mod_revision is still `expected_mod_revision` (0: only if the key
  // does not exist). true: written; false: the comparison failed and
  // nothing was written.
  virtual util::Result<bool> put_if(std::string_view key, std::string_view value,
                                    int64_t expected_mod_revision) = 0;

  // put_if() that, when the comparison holds, also writes also_key =
  // also_value in the same transaction: both keys or neither (a proposal
  // takes its scope's slot and writes its record at once, so no other
  // proposer ever sees the slot without the record).
  virtual util::Result<bool> put_both_if(std::string_view key, std::string_view value,
                                         int64_t expected_mod_revision, std::string_view also_key,
                                         std::string_view also_value) = 0;

  // One etcd transaction: when every condition holds, every write is done
  // (all or none). Returns the store's revision after the writes, or 0 when a
  // condition failed and nothing was written. What the cluster's ACME lock
  // (records.h acme/lock/<scope>) is taken and checked with.
  virtual util::Result<int64_t> transact(const std::vector<Condition>& when,
                                         const std::vector<Write>& then) = 0;

  // Deletes one key; deleting a key that does not exist is not an error.
  virtual util::Status remove(std::string_view key) = 0;

  // A lease of `ttl`; keys put with it vanish when it is not kept alive.
  virtual util::Result<int64_t> grant_lease(std::chrono::seconds ttl) = 0;
  // Renews the lease once. Fails when the lease has expired (etcd answers
  // TTL 0 / not found): the caller then grants a new one and rewrites its keys.
  virtual util::Status keep_alive(int64_t lease) = 0;

  // Streams every change to a key under `prefix` with revision >=
  // `start_revision`, in order, to on_event, on the calling thread, until
  // `stop` is requested (returns success within about 200 ms of the request)
  // or the stream breaks (returns the error: endpoint lost, revision
  // compacted, ...). The caller then reads a new snapshot and watches again
  // from its revision + 1. No polling: one long-lived watch stream.
  virtual util::Status watch(std::string_view prefix, int64_t start_revision,
                             const std::function<void(const WatchEvent&)>& on_event,
                             std::stop_token stop) = 0;
};

}  // namespace tlsgate::cluster
