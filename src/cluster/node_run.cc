// Node's threads (node.h): the worker that joins, re-reads and steps, and
// the watch that keeps the records current between reads.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/node.h"

namespace tlsgate::cluster {

void Node::start() {
  if (worker_.joinable()) return;
  worker_ = std::jthread([this](std::stop_token st) { run(st); });
}

void Node::stop() {
  if (!worker_.joinable()) return;
  worker_.request_stop();
  cv_.notify_all();
  worker_.join();
}

void Node::run(std::stop_token stop) {
  auto backoff = options_.retry_min;
  std::string logged_error;
  auto wait_for = [&](std::chrono::milliseconds d) {
    util::MutexLock lock(mu_);
    cv_.wait_for(mu_, stop, d, [] { return false; });
  };
  while (!stop.stop_requested()) {
    util::Status ready = ensure_lease();
    if (ready) ready = load_all();
    if (ready) ready = publish_member();
    if (!ready) {
      {
        util::MutexLock lock(mu_);
        connected_ = false;
        last_error_ = ready.error().message();
      }
      if (ready.error().message() != logged_error) {
        logged_error = ready.error().message();
        spdlog::warn("cluster: etcd is not reachable, serving what this node has and retrying: {}",
                     logged_error);
      }
      lease_ = 0;
      wait_for(backoff);
      backoff = std::min(backoff * 2, options_.retry_max);
      continue;
    }
    if (!logged_error.empty()) spdlog::info("cluster: etcd is reachable again");
    logged_error.clear();
    backoff = options_.retry_min;
    int64_t from = 0;
    {
      util::MutexLock lock(mu_);
      connected_ = true;
      last_error_.clear();
      from = revision_ + 1;
      watch_broken_ = false;
      dirty_ = false;
    }
    step(current_view());
    std::jthread watcher([this, from](std::stop_token wst) {
      auto ended = store_.watch(
          keys_.base, from,
          [this](const WatchEvent& ev) {
            util::MutexLock lock(mu_);
            if (ev.type == WatchEvent::Type::kPut) {
              kvs_[ev.kv.key] = ev.kv;
            } else {
              kvs_.erase(ev.kv.key);
            }
            revision_ = std::max(revision_, ev.kv.mod_revision);
            dirty_ = true;
            cv_.notify_all();
          },
          wst);
      util::MutexLock lock(mu_);
      watch_broken_ = true;
      if (!ended) last_error_ = ended.error().message();
      cv_.notify_all();
    });
    const auto keepalive_every =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 3;
    auto next_keepalive = std::chrono::steady_clock::now() + keepalive_every;
    auto next_tick = std::chrono::steady_clock::now() + options_.tick;
    while (!stop.stop_requested()) {
      bool dirty = false;
      {
        util::MutexLock lock(mu_);
        cv_.wait_until(mu_, stop, std::min(next_keepalive, next_tick),
                       [this]() NO_THREAD_SAFETY_ANALYSIS { return dirty_ || watch_broken_; });
        if (watch_broken_) break;
        dirty = dirty_;
        dirty_ = false;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_keepalive) {
        if (auto k = store_.keep_alive(lease_); !k) {
          spdlog::warn("cluster: the lease of node {} lapsed, joining again: {}",
                       options_.cluster.node_name, k.error().message());
          lease_ = 0;
          break;
        }
        next_keepalive = now + keepalive_every;
      }
      if (dirty || now >= next_tick) {
        step(current_view());
        if (now >= next_tick) next_tick = now + options_.tick;
      }
    }
    watcher.request_stop();
    watcher.join();
    if (!stop.stop_requested()) {
      util::MutexLock lock(mu_);
      if (watch_broken_ && !last_error_.empty()) {
        spdlog::warn("cluster: the watch on etcd ended, reading the records again: {}",
                     last_error_);
      }
    }
  }
  if (lease_ != 0) {
    release_acme();
    (void)store_.remove(keys_.alive(options_.cluster.node_name));
  }
  lease_ = 0;
}

}  // namespace tlsgate::cluster
