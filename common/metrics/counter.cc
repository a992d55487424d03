#include "common/metrics/counter.h"

#include <cmath>

#include "common/metrics/internal/atomic_double.h"

namespace iplus::metrics {

void Counter::Increment(double value) {
  // `!(value > 0)` also rejects NaN, which would poison the counter for ever.
  if (!(value > 0.0)) return;
  internal::AtomicAdd(value_, value);
}

double Counter::Value() const { return value_.load(std::memory_order_relaxed); }

ClientMetric Counter::Collect() const {
  ClientMetric metric;
  metric.counter.value = Value();
  return metric;
}

detail::Builder<Counter> BuildCounter() { return {}; }

}  // namespace iplus::metrics
