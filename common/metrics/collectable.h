#pragma once

#include <vector>

#include "common/metrics/metric_family.h"

namespace iplus::metrics {

// Anything that can produce metric families on demand: a Registry, or a custom
// collector that reads values only when scraped.
//
// Thread-safety: Collect() may be called at any time from an Exposer's HTTP threads,
// concurrently with updates and with other Collect() calls, so implementations must be
// thread-safe.
class Collectable {
 public:
  virtual ~Collectable() = default;

  // A consistent-enough snapshot of the current values. Families with no series may be
  // returned; the serializer skips them.
  virtual std::vector<MetricFamily> Collect() const = 0;
};

}  // namespace iplus::metrics
