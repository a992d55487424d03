#pragma once

#include <atomic>

#include "common/metrics/builder.h"
#include "common/metrics/client_metric.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// A value that can go up and down (queue depth, connections, a timestamp). Obtained from
// a Family<Gauge>.
//
// Thread-safety: all methods are lock-free and may be called concurrently.
class Gauge {
 public:
  static constexpr MetricType kMetricType = MetricType::kGauge;

  Gauge() = default;
  explicit Gauge(double value) : value_(value) {}
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value);
  void Increment(double value = 1.0);
  void Decrement(double value = 1.0);
  // Sets the gauge to the current wall-clock time in seconds since the Unix epoch.
  void SetToCurrentTime();

  double Value() const;

  ClientMetric Collect() const;

 private:
  std::atomic<double> value_{0.0};
};

// Starts registering a Family<Gauge>; see builder.h.
detail::Builder<Gauge> BuildGauge();

}  // namespace iplus::metrics
