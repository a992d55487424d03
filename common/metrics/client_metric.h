#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iplus::metrics {

// A snapshot of one time series (one label set) of a metric family, as produced by
// Collect(). Only the member matching the family's MetricType is meaningful; the others
// stay at their defaults. Plain data, copyable.
struct ClientMetric {
  struct Label {
    std::string name;
    std::string value;
  };
  // Sorted by name, constant labels and per-series labels merged.
  std::vector<Label> label;

  struct Counter {
    double value = 0.0;
  };
  Counter counter;

  struct Gauge {
    double value = 0.0;
  };
  Gauge gauge;

  struct Bucket {
    std::uint64_t cumulative_count = 0;
    double upper_bound = 0.0;  // the bucket's "le"; the last bucket is +Inf
  };
  struct Histogram {
    std::uint64_t sample_count = 0;
    double sample_sum = 0.0;
    std::vector<Bucket> bucket;  // ascending upper bounds, cumulative counts
  };
  Histogram histogram;

  struct Untyped {
    double value = 0.0;
  };
  Untyped untyped;

  // Milliseconds since the Unix epoch; 0 means "no timestamp" (the scraper uses the
  // scrape time), which is what metrics owned by this process should use.
  std::int64_t timestamp_ms = 0;
};

}  // namespace iplus::metrics
