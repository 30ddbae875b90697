#include "memory_store.h"

namespace tlsgate::test {

util::Status MemoryStore::check_up() const {
  if (down_) return util::fail("etcd at memory:// is down (test)");
  return {};
}

int64_t MemoryStore::write(const std::string& key, std::string value, int64_t lease) {
  ++revision_;
  ++writes_;
  auto& kv = kvs_[key];
  if (kv.create_revision == 0) kv.create_revision = revision_;
  kv.key = key;
  kv.value = std::move(value);
  kv.mod_revision = revision_;
  kv.lease = lease;
  log_.push_back({cluster::WatchEvent::Type::kPut, kv});
  cv_.notify_all();
  return revision_;
}

util::Result<cluster::Snapshot> MemoryStore::range(std::string_view prefix) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return util::fail(up.error());
  cluster::Snapshot s;
  for (auto it = kvs_.lower_bound(std::string(prefix));
       it != kvs_.end() && it->first.starts_with(prefix); ++it) {
    s.kvs.push_back(it->second);
  }
  s.revision = revision_;
  return s;
}

util::Result<int64_t> MemoryStore::put(std::string_view key, std::string_view value,
                                       int64_t lease) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return util::fail(up.error());
  if (lease != 0 && !leases_.count(lease)) return util::fail("lease not found");
  return write(std::string(key), std::string(value), lease);
}

util::Result<bool> MemoryStore::put_if(std::string_view key, std::string_view value,
                                       int64_t expected) {
  return put_both_if(key, value, expected, {}, {});
}

util::Result<bool> MemoryStore::put_both_if(std::string_view key, std::string_view value,
                                            int64_t expected, std::string_view also_key,
                                            std::string_view also_value) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return util::fail(up.error());
  auto it = kvs_.find(std::string(key));
  int64_t current = it == kvs_.end() ? 0 : it->second.mod_revision;
  if (current != expected) return false;
  write(std::string(key), std::string(value), 0);
  if (!also_key.empty()) write(std::string(also_key), std::string(also_value), 0);
  return true;
}

util::Result<int64_t> MemoryStore::transact(const std::vector<cluster::Condition>& when,
                                            const std::vector<cluster::Write>& then) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return util::fail(up.error());
  for (const auto& c : when) {
    auto it = kvs_.find(c.key);
    if ((it == kvs_.end() ? 0 : it->second.mod_revision) != c.mod_revision) return 0;
  }
  for (const auto& w : then) {
    if (w.lease != 0 && !leases_.count(w.lease)) return util::fail("lease not found");
  }
  for (const auto& w : then) {
    if (w.remove) {
      erase(w.key);
    } else {
      write(w.key, w.value, w.lease);
    }
  }
  return revision_;
}

void MemoryStore::erase(const std::string& key) {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return;
  ++revision_;
  ++writes_;
  cluster::KeyValue gone{it->first, "", 0, revision_, 0};
  kvs_.erase(it);
  log_.push_back({cluster::WatchEvent::Type::kDelete, gone});
  cv_.notify_all();
}

util::Status MemoryStore::remove(std::string_view key) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return up;
  erase(std::string(key));
  return {};
}

util::Result<int64_t> MemoryStore::grant_lease(std::chrono::seconds) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return util::fail(up.error());
  leases_[++next_lease_] = true;
  return next_lease_;
}

util::Status MemoryStore::keep_alive(int64_t lease) {
  std::lock_guard lock(mu_);
  if (auto up = check_up(); !up) return up;
  if (!leases_.count(lease)) return util::fail("lease " + std::to_string(lease) + " expired");
  return {};
}

void MemoryStore::expire(int64_t lease) {
  std::lock_guard lock(mu_);
  leases_.erase(lease);
  std::vector<std::string> doomed;
  for (const auto& [k, kv] : kvs_) {
    if (kv.lease == lease) doomed.push_back(k);
  }
  for (const auto& k : doomed) erase(k);
}

void MemoryStore::set_down(bool down) {
  std::lock_guard lock(mu_);
  down_ = down;
  cv_.notify_all();
}

std::map<std::string, std::string> MemoryStore::dump() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [k, kv] : kvs_) out[k] = kv.value;
  return out;
}

util::Status MemoryStore::watch(std::string_view prefix, int64_t start_revision,
                                const std::function<void(const cluster::WatchEvent&)>& on_event,
                                std::stop_token stop) {
  size_t next = 0;
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (down_) return util::fail("etcd at memory:// is down (test): the watch broke");
    for (; next < log_.size(); ++next) {
      const auto ev = log_[next];
      if (ev.kv.mod_revision < start_revision || !ev.kv.key.starts_with(prefix)) continue;
      lock.unlock();
      on_event(ev);
      lock.lock();
    }
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return {};
}

}  // namespace tlsgate::test
