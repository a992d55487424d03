#pragma once

namespace iplus::metrics {

// The metric types this module can render in the Prometheus text format.
enum class MetricType {
  kCounter,
  kGauge,
  kHistogram,
  kUntyped,
};

// "counter", "gauge", "histogram" or "untyped", as in a "# TYPE" line.
inline const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

}  // namespace iplus::metrics
