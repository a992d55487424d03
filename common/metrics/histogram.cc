#include "common/metrics/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/metrics/internal/atomic_double.h"
#include "common/metrics/names.h"

namespace iplus::metrics {
namespace {

Histogram::BucketBoundaries CheckedBounds(Histogram::BucketBoundaries bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      internal::Fatal(
          absl::StrCat("histogram bucket boundaries must be strictly increasing and "
                       "not NaN (bad boundary at index ",
                       i, ")"));
    }
  }
  return bounds;
}

}  // namespace

Histogram::Histogram(const BucketBoundaries& boundaries)
    : bounds_(CheckedBounds(boundaries)),
      counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // lower_bound: the first bound >= value, since buckets are "less than or equal".
  const size_t index =
      std::isnan(value)
          ? bounds_.size()
          : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  internal::AtomicAdd(sum_, value);
}

ClientMetric Histogram::Collect() const {
  ClientMetric metric;
  std::uint64_t cumulative = 0;
  metric.histogram.bucket.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum_.load(std::memory_order_relaxed);
  return metric;
}

Histogram::BucketBoundaries DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::BucketBoundaries ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    internal::Fatal(absl::StrCat("ExponentialBuckets needs start > 0, factor > 1, count >= 1; got ",
                                 start, ", ", factor, ", ", count));
  }
  Histogram::BucketBoundaries bounds;
  bounds.reserve(count);
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

Histogram::BucketBoundaries LinearBuckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) {
    internal::Fatal(
        absl::StrCat("LinearBuckets needs width > 0, count >= 1; got ", width, ", ", count));
  }
  Histogram::BucketBoundaries bounds;
  bounds.reserve(count);
  for (int i = 0; i < count; ++i) bounds.push_back(start + i * width);
  return bounds;
}

detail::Builder<Histogram> BuildHistogram() { return {}; }

}  // namespace iplus::metrics
