#pragma once

#include <string>
#include <vector>

#include "common/metrics/client_metric.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// A snapshot of all series sharing one metric name, HELP text and type. This is the unit
// a Collectable hands to the TextSerializer.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<ClientMetric> metric;
};

}  // namespace iplus::metrics
