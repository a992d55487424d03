#pragma once

// Evaluations through the result cache: the one path every RPC, the scorecard stream
// and the target gauges take.
//
// A request computes its cache key from this replica's current versions (the Dataset's
// registry version and the data version of every (indicator, period) from the target's
// baseline to the evaluated period, read under the Dataset's reader lock); a hit is
// served with cached=true, a miss is computed under the reader lock, stored and served.
// A scorecard reads every target's key with one MGET and computes only the misses.
//
// Metrics (in the registry passed in):
//   iplus_evaluation_cache_requests_total{kind,result}   kind evaluate|breakdown, result hit|miss
//   iplus_evaluation_computed_total{kind}                 results computed (cache misses)
//   iplus_evaluation_compute_seconds{kind}                time to compute one result
//
// Thread-safety: every method may be called concurrently.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "iplus/evaluation/v1/evaluation.pb.h"
#include "services/evaluation/domain/model.h"
#include "services/evaluation/feed/feed.h"
#include "services/evaluation/store/result_cache.h"

namespace iplus::evaluation {

class Evaluator {
 public:
  // None of the pointers is owned; all must outlive the evaluator.
  Evaluator(Feed* feed, ResultCache* cache, Clock* clock, metrics::Registry& metrics);

  // REQUIRES: the target, scope and period are valid (ValidateScope,
  // ValidateEvaluationPeriod). UNAVAILABLE while the feed is loading, when a column
  // cannot be loaded from ingest, or when Redis is unreachable; FAILED_PRECONDITION when
  // ingest does not know the target's indicator.
  absl::StatusOr<v1::Evaluation> Evaluate(const Target& target, const Scope& scope,
                                          const Period& period, absl::Time deadline);

  absl::StatusOr<v1::BreakdownResponse> Breakdown(const Target& target, const Scope& scope,
                                                  const Period& period, Dimension dimension,
                                                  absl::Time deadline);

  // Every target in `targets` that is not archived and can be evaluated for the period
  // (its granularity, not before its baseline, its indicator known), in id order.
  absl::StatusOr<v1::Scorecard> Scorecard(std::vector<Target> targets, const Scope& scope,
                                          const Period& period, absl::Time deadline);

  Feed* feed() const { return feed_; }

 private:
  // The cache key parts of a result over the Dataset as it is now. REQUIRES: called
  // under the feed's reader lock.
  static CacheKeyParts Parts(const char* kind, const Target& target, const Scope& scope,
                             const Period& period, int dimension, const Dataset& data);
  absl::Status Prepare(const Target& target, const Period& period, absl::Time deadline);

  Feed* feed_;
  ResultCache* cache_;
  Clock* clock_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& computed_;
  metrics::Family<metrics::Histogram>& compute_seconds_;
};

}  // namespace iplus::evaluation
