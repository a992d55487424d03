#pragma once

// Outlier maths of the ingestion core: robust location and scale (median, MAD), the
// Iglewicz–Hoaglin modified z-score, hard plausibility ranges, and PeerStats, a bounded,
// thread-safe sample of peer values per key to score a new value against its peers.
// Pure computation: no I/O, no clock.
//
// Reference: B. Iglewicz and D. C. Hoaglin (1993), "How to Detect and Handle Outliers",
// ASQC Basic References in Quality Control, vol. 16.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"

namespace iplus::ingest {

// Robust summary of a set of values; all deviations are taken from the median.
struct RobustStats {
  double median = 0;
  // Median absolute deviation: median of |x - median|.
  double mad = 0;
  // Mean absolute deviation from the median: mean of |x - median|.
  double mean_abs_dev = 0;
  // Number of (finite) values summarised.
  size_t n = 0;
};

// Median, MAD and mean absolute deviation of `values`, in O(n) (selection, no full
// sort). The median of an even count is the mean of the two middle values. Non-finite
// values (NaN, ±inf) are ignored; nullopt when no finite value remains.
absl::optional<RobustStats> ComputeRobustStats(std::vector<double> values);

// Iglewicz–Hoaglin modified z-score of `x` against `s`:
//
//   M = 0.6745 · (x − median) / MAD
//
// 0.6745 is the 0.75 quantile of the standard normal, so that E[MAD] = 0.6745·σ for
// normal data and M is on the scale of an ordinary z-score; |M| > 3.5 is the usual
// outlier rule (Iglewicz & Hoaglin 1993).
//
// MAD is 0 when more than half of the values are equal. The score then falls back to the
// mean absolute deviation, as IBM SPSS does:
//
//   M = (x − median) / (1.253314 · mean_abs_dev)
//
// where 1.253314 ≈ √(π/2) is the ratio σ / E|X − μ| for normal data. When that is 0 too
// (all values equal), M is 0 if x equals the median and ±infinity (the sign of
// x − median) otherwise. A NaN `x` gives a NaN score.
double ModifiedZScore(double x, const RobustStats& s);

// Outcome of one check. `flagged` is |score| > threshold (strictly greater), except for
// CheckPlausible, where it means "outside the range".
struct OutlierCheck {
  double score = 0;
  double threshold = 0;
  bool flagged = false;
};

// The usual modified z-score cut-off (Iglewicz & Hoaglin 1993).
inline constexpr double kDefaultOutlierThreshold = 3.5;

// Scores `x` against `reference` (which should not contain `x` itself) with
// ModifiedZScore. nullopt when `reference` has fewer than `min_points` finite values or
// none at all. A NaN `x` is never flagged: callers validate finiteness first.
absl::optional<OutlierCheck> CheckAgainst(double x, const std::vector<double>& reference,
                                          size_t min_points,
                                          double threshold = kDefaultOutlierThreshold);

// Hard bounds of what a value can physically or legally be; both ends inclusive.
struct PlausibleRange {
  absl::optional<double> min;
  absl::optional<double> max;
};

// Flags `x` when it lies outside `range`; threshold is 0. The score is signed, 0 inside
// the range, positive above and negative below:
//   both bounds, max > min:  (x − max) / (max − min) above, (x − min) / (max − min) below,
//                            i.e. how far outside in range widths;
//   otherwise (one bound, or a degenerate range): the signed distance x − max or x − min.
// nullopt when neither bound is set. A NaN `x` is never flagged.
absl::optional<OutlierCheck> CheckPlausible(double x, const PlausibleRange& range);

// Statistics of peer values per key, to score a new value against, for example, its
// industry peers in the same period. The key is opaque and built by the caller
// ("<indicator>|<period>|<division>").
//
// Per key it keeps the count of values seen and a uniform random sample of at most
// `capacity` of them (reservoir sampling, Algorithm R as described by Vitter 1985). The
// generator of each key is seeded from `seed` and a stable hash of the key, so the sample
// of a key depends only on the seed and on the values added to that key, in order; it
// does not depend on other keys or on the process.
//
// Approximation: Check scores against a cached RobustStats of the key's sample. The cache
// is recomputed lazily, on the first Check after the sample changed (appended or
// replaced values) in more than 5% of its size or in 32 values, whichever comes first.
// While fewer than 20 values are sampled, any change triggers a recompute, so scores on
// small samples are exact. Otherwise the cached statistics summarise a sample sharing at
// least 95% of its values with the current one, so the cached median lies between the
// current sample's 45th and 55th percentiles; scores near the threshold may differ
// slightly from exact ones, while gross outliers are flagged all the same. Once a
// reservoir is full it changes ever more rarely (with probability capacity / count), so
// recomputes become rare too.
//
// Memory: at most `capacity` doubles plus a few words per key. The number of keys is
// bounded by the caller's key space; Clear() drops everything.
//
// Thread-safe. One mutex per instance: Add and a Check that must recompute take it
// exclusively (a recompute is O(capacity)); a Check against fresh cached statistics takes
// it shared.
class PeerStats {
 public:
  static constexpr size_t kDefaultCapacity = 512;
  static constexpr uint64_t kDefaultSeed = 0x1f2e3d4c5b6a7988ULL;
  static constexpr size_t kDefaultMinPoints = 10;

  // A `capacity` of 0 is treated as 1.
  explicit PeerStats(size_t capacity = kDefaultCapacity, uint64_t seed = kDefaultSeed);

  PeerStats(const PeerStats&) = delete;
  PeerStats& operator=(const PeerStats&) = delete;

  // Records one value for `key`. Non-finite values are ignored and not counted.
  void Add(const std::string& key, double value);
  // Same as Add for each value in order, under one lock.
  void AddMany(const std::string& key, const std::vector<double>& values);

  // Scores `value` against the current sample of `key` (without adding it). nullopt when
  // the key is unknown or its sample holds fewer than `min_points` values.
  absl::optional<OutlierCheck> Check(const std::string& key, double value,
                                     size_t min_points = kDefaultMinPoints,
                                     double threshold = kDefaultOutlierThreshold) const;

  // Values added to `key` so far (not capped by the capacity); 0 for an unknown key.
  size_t Count(const std::string& key) const;
  bool Has(const std::string& key) const;
  // A copy of the current sample of `key`, for diagnostics and tests. While the sample
  // is below capacity it holds every value, in the order added.
  std::vector<double> Sample(const std::string& key) const;
  // Number of keys held.
  size_t KeyCount() const;

  void Clear();

 private:
  struct Reservoir {
    std::vector<double> sample;
    uint64_t seen = 0;
    uint64_t rng_state = 0;
    // Guarded by mu_; written by Check under the exclusive lock, hence mutable.
    mutable absl::optional<RobustStats> stats;
    mutable size_t changes_since_stats = 0;
  };

  void AddLocked(const std::string& key, double value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reservoir& FindOrCreateLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void AddToReservoir(Reservoir& r, size_t capacity, double value);
  static bool Stale(const Reservoir& r);

  const size_t capacity_;
  const uint64_t seed_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Reservoir> reservoirs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::ingest
