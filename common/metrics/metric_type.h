#pragma once

namespace iplus::metrics {

// The metric types this module can render in the Prometheus text format.
enum class MetricType {
  kCounter,
  kGauge,
  kHistogram,
  kUntyped,
};

}  // namespace iplus::metrics
