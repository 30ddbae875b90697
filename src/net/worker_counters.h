// WorkerCounters: what one worker counts for each connector, written only by
// that worker's thread and read by anyone (Gate::status() folds them).
//
// A Counter has one writer, so add() is a relaxed load and a relaxed store
// of an std::atomic<uint64_t>: no read-modify-write, no lock, no cache line
// shared with another worker's counters (each ConnectorCounters is aligned
// to its own lines). Readers load relaxed and may see a value a moment old,
// never a torn one. The pump adds bytes once per read or write, not per byte.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tls/failure_reason.h"

namespace tlsgate::net {

class Counter {
 public:
  // Only the owning thread calls add().
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// TLS versions a handshake is counted under (kVersionNames says them as
// OpenSSL's SSL_get_version() does).
enum class TlsVersion : uint8_t { kTls10, kTls11, kTls12, kTls13, kOther };
inline constexpr size_t kTlsVersionCount = 5;
inline constexpr std::array<std::string_view, kTlsVersionCount> kVersionNames = {
    "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "unknown"};

// Why re-validation closed an established connection.
enum class RevalidationClose : uint8_t { kRevoked, kExpired, kPolicyChanged, kUserMapChanged };
inline constexpr size_t kRevalidationCloseCount = 4;
inline constexpr std::array<std::string_view, kRevalidationCloseCount> kRevalidationCloseNames = {
    "revoked", "expired", "policy_changed", "user_map_changed"};

struct alignas(64) ConnectorCounters {
  std::array<std::array<Counter, 2>, kTlsVersionCount> handshakes;   // [version][resumed]
  std::array<Counter, tls::kFailureReasonCount> handshake_failures;  // the client side
  std::array<Counter, tls::kFailureReasonCount> upstream_failures;   // the backend side
  Counter bytes_from_clients;
  Counter bytes_to_clients;
  std::array<Counter, kRevalidationCloseCount> revalidation_closed;
  Counter revocation_soft_fails;

  void handshake(TlsVersion v, bool resumed) {
    handshakes[static_cast<size_t>(v)][resumed ? 1 : 0].add();
  }
  void handshake_failure(tls::FailureReason r) { handshake_failures[static_cast<size_t>(r)].add(); }
  void upstream_failure(tls::FailureReason r) { upstream_failures[static_cast<size_t>(r)].add(); }
  void revalidation(RevalidationClose why) { revalidation_closed[static_cast<size_t>(why)].add(); }
};

// One worker's counters, one ConnectorCounters per connector (by its index
// in the gate's list). Allocated once; never resized.
class WorkerCounters {
 public:
  explicit WorkerCounters(size_t connectors)
      : connectors_(std::make_unique<ConnectorCounters[]>(connectors)), size_(connectors) {}
  ConnectorCounters& connector(size_t index) { return connectors_[index]; }
  const ConnectorCounters& connector(size_t index) const { return connectors_[index]; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<ConnectorCounters[]> connectors_;
  size_t size_;
};

}  // namespace tlsgate::net
