#pragma once

// The evaluation service's gRPC adapter: targets (validation, etags, paging, request-id
// replay) over the TargetStore, evaluations through the Evaluator, the scorecard stream,
// and the enterprise check that reads ingest directly.

#include <atomic>
#include <string>

#include "common/auth/auth.h"
#include "common/clock/clock.h"
#include "common/metrics/counter.h"
#include "common/metrics/gauge.h"
#include "common/metrics/registry.h"
#include "common/replay/replay_cache.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "services/evaluation/feed/feed.h"
#include "services/evaluation/grpc/evaluator.h"
#include "services/evaluation/store/target_store.h"

namespace iplus::evaluation {

struct ServiceOptions {
  // Region prefix of the instance ("" for national): scopes must lie within it.
  std::string region_prefix;
  // Longest time one call may spend loading columns or asking ingest when the client
  // set no deadline.
  absl::Duration max_call_time = absl::Seconds(30);
  // WatchScorecard: how often a stream checks for cancellation and drain while waiting.
  absl::Duration watch_tick = absl::Milliseconds(200);
};

class EvaluationServiceImpl final : public v1::EvaluationService::Service {
 public:
  // Nothing is owned; everything but `replay` (may be null) must outlive the service.
  EvaluationServiceImpl(TargetStore* store, Evaluator* evaluator,
                        ingest::v1::IngestService::StubInterface* ingest,
                        redis::ReplayCache* replay, Clock* clock, metrics::Registry& metrics,
                        ServiceOptions options = {});

  grpc::Status CreateTarget(grpc::ServerContext*, const v1::CreateTargetRequest*,
                            v1::CreateTargetResponse*) override;
  grpc::Status GetTarget(grpc::ServerContext*, const v1::GetTargetRequest*,
                         v1::GetTargetResponse*) override;
  grpc::Status UpdateTarget(grpc::ServerContext*, const v1::UpdateTargetRequest*,
                            v1::UpdateTargetResponse*) override;
  grpc::Status ListTargets(grpc::ServerContext*, const v1::ListTargetsRequest*,
                           v1::ListTargetsResponse*) override;
  grpc::Status ArchiveTarget(grpc::ServerContext*, const v1::ArchiveTargetRequest*,
                             v1::ArchiveTargetResponse*) override;
  grpc::Status Evaluate(grpc::ServerContext*, const v1::EvaluateRequest*,
                        v1::EvaluateResponse*) override;
  grpc::Status Breakdown(grpc::ServerContext*, const v1::BreakdownRequest*,
                         v1::BreakdownResponse*) override;
  grpc::Status GetScorecard(grpc::ServerContext*, const v1::GetScorecardRequest*,
                            v1::GetScorecardResponse*) override;
  grpc::Status WatchScorecard(grpc::ServerContext*, const v1::WatchScorecardRequest*,
                              grpc::ServerWriter<v1::WatchScorecardResponse>*) override;
  grpc::Status CheckEnterprise(grpc::ServerContext*, const v1::CheckEnterpriseRequest*,
                               v1::CheckEnterpriseResponse*) override;

  // Ends every WatchScorecard stream with UNAVAILABLE and refuses new ones; call before
  // the server drains (streams would otherwise hold the drain until its timeout).
  void Drain();

 private:
  absl::Status ValidateScopeField(const Scope& scope, absl::string_view field) const;
  // Narrows a valid scope to the caller's regions (common/auth/scope.h): a region prefix
  // must lie within them; an empty one is narrowed to the caller's one region overlapping
  // the instance unless they cover it. PERMISSION_DENIED otherwise.
  absl::Status NarrowScope(const auth::Principal& p, Scope& scope) const;
  // A valid enterprise code must be in the caller's regions: its registered region as the
  // feed holds it, or, for a code the feed does not know, the region in the code.
  absl::Status CheckCode(const auth::Principal& p, const std::string& code) const;
  absl::StatusOr<Target> Modify(const std::string& id, const std::string& etag,
                                const std::function<absl::Status(Target&)>& change);
  absl::Time Deadline(const grpc::ServerContext& ctx) const;
  bool Draining() const { return draining_.load(); }

  TargetStore* store_;
  Evaluator* evaluator_;
  Feed* feed_;
  ingest::v1::IngestService::StubInterface* ingest_;
  redis::ReplayCache* replay_;
  Clock* clock_;
  const ServiceOptions options_;
  std::atomic<bool> draining_{false};
  metrics::Gauge& watch_streams_;
  metrics::Counter& watch_messages_;
};

}  // namespace iplus::evaluation
