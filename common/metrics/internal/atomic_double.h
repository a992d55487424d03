#pragma once

#include <atomic>

namespace iplus::metrics::internal {

static_assert(std::atomic<double>::is_always_lock_free,
              "metric updates rely on lock-free atomic doubles");

// Adds `delta` to `target` without a lock. std::atomic<double> has no fetch_add before
// C++20, so this retries a compare-exchange; relaxed ordering suffices because each
// metric value is independent and readers only need an eventually current value.
inline void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

}  // namespace iplus::metrics::internal
