#pragma once

#include <atomic>

#include "common/metrics/builder.h"
#include "common/metrics/client_metric.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// A monotonically increasing value (requests served, errors seen). Obtained from a
// Family<Counter>; by convention its name ends in "_total".
//
// Thread-safety: all methods are lock-free and may be called concurrently.
class Counter {
 public:
  static constexpr MetricType kMetricType = MetricType::kCounter;

  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `value`. Negative and NaN values are ignored: a counter never goes down.
  void Increment(double value = 1.0);

  double Value() const;

  ClientMetric Collect() const;

 private:
  std::atomic<double> value_{0.0};
};

// Starts registering a Family<Counter>; see builder.h.
detail::Builder<Counter> BuildCounter();

}  // namespace iplus::metrics
