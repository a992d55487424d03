#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/metrics/builder.h"
#include "common/metrics/client_metric.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// Counts observations (latencies, sizes) into buckets with fixed upper bounds, and keeps
// their count and sum. Obtained from Family<Histogram>::Add(labels, boundaries).
//
// Thread-safety: Observe() is lock-free (one atomic add on the bucket, one on the sum)
// and may be called concurrently. Collect() reads the buckets one by one, so a snapshot
// taken during concurrent Observe() calls may be off by those in-flight observations
// between count and sum; every snapshot is still internally cumulative.
class Histogram {
 public:
  static constexpr MetricType kMetricType = MetricType::kHistogram;

  // Upper bounds ("le") of the finite buckets, strictly increasing. The +Inf bucket is
  // implicit; a trailing +Inf in the list is accepted and ignored.
  using BucketBoundaries = std::vector<double>;

  // Aborts if `boundaries` is not strictly increasing or contains NaN (a programming
  // error, see names.h).
  explicit Histogram(const BucketBoundaries& boundaries);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one observation in the first bucket whose bound is >= value (NaN goes to
  // +Inf only, as in the Go client).
  void Observe(double value);

  ClientMetric Collect() const;

 private:
  const BucketBoundaries bounds_;
  // bounds_.size() + 1 non-cumulative counts; the last one is the +Inf bucket.
  const std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

// Latency buckets in seconds from 0.5 ms to 10 s, suitable for RPC handling times.
Histogram::BucketBoundaries DefaultLatencyBuckets();

// `count` bounds: start, start*factor, start*factor^2, ...
// REQUIRES: start > 0, factor > 1, count >= 1 (aborts otherwise).
Histogram::BucketBoundaries ExponentialBuckets(double start, double factor, int count);

// `count` bounds: start, start+width, start+2*width, ...
// REQUIRES: width > 0, count >= 1 (aborts otherwise).
Histogram::BucketBoundaries LinearBuckets(double start, double width, int count);

// Starts registering a Family<Histogram>; see builder.h.
detail::Builder<Histogram> BuildHistogram();

}  // namespace iplus::metrics
