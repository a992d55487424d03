#pragma once

// Each active target's progress as Prometheus gauges, refreshed by a background loop
// every `interval` and soon (at most every `min_spacing`) after the data under them
// changed:
//   iplus_target_progress_ratio{target,province}  progress (unset progress: no series)
//   iplus_target_status{target,province}          the EvaluationStatus number: 1 achieved,
//                                                 2 on track, 3 at risk, 4 off track,
//                                                 5 insufficient data
//   iplus_target_coverage_ratio{target,province}  current reporters / population
// for the latest period between the target's baseline and deadline that has data (no
// series before the first report), over the whole instance: one series per province
// of the province breakdown ("440000") and province="all" for the total. Values come
// through the result cache like any request's. Series of targets archived since, or of
// provinces that left the breakdown, are removed.

#include <set>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/labels.h"
#include "common/metrics/registry.h"
#include "services/evaluation/grpc/evaluator.h"

namespace iplus::evaluation {

struct TargetGaugesOptions {
  absl::Duration interval = absl::Seconds(30);
  absl::Duration min_spacing = absl::Seconds(5);
};

class TargetGauges {
 public:
  // `evaluator` and `metrics` must outlive the gauges.
  TargetGauges(Evaluator* evaluator, metrics::Registry& metrics, TargetGaugesOptions options = {});
  ~TargetGauges();  // Stop()s.

  void Start();
  void Stop();

  // One refresh on the caller's thread; the first error met (the others are retried at
  // the next refresh). UNAVAILABLE until the feed is ready.
  absl::Status RefreshNow();

 private:
  void Run();
  void Set(metrics::Family<metrics::Gauge>& family, const metrics::Labels& labels, double value,
           std::set<std::pair<const void*, metrics::Labels>>& seen);

  Evaluator* evaluator_;
  const TargetGaugesOptions options_;
  metrics::Family<metrics::Gauge>& progress_;
  metrics::Family<metrics::Gauge>& status_;
  metrics::Family<metrics::Gauge>& coverage_;

  absl::Mutex mu_;  // one refresh at a time
  std::set<std::pair<const void*, metrics::Labels>> series_ ABSL_GUARDED_BY(mu_);

  absl::Mutex run_mu_;
  bool stopping_ ABSL_GUARDED_BY(run_mu_) = false;
  std::thread thread_;
};

}  // namespace iplus::evaluation
