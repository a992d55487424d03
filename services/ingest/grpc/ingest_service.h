#pragma once

// The ingestion service's gRPC adapter.

#include <functional>
#include <string>

#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "common/replay/replay_cache.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/domain/ingest.h"

namespace iplus::ingest {

// Who is calling: the principal that becomes an observation's reporter.
using PrincipalFn = std::function<std::string(const grpc::ServerContext&)>;

class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  // `ingest` and `metrics` must outlive the service; `replay` may be null. `principal`
  // defaults to "anonymous" until callers are authenticated.
  IngestServiceImpl(Ingest* ingest, redis::ReplayCache* replay, metrics::Registry& metrics,
                    PrincipalFn principal = nullptr);

  grpc::Status ListIndicators(grpc::ServerContext*, const v1::ListIndicatorsRequest*,
                              v1::ListIndicatorsResponse*) override;
  grpc::Status GetIndicator(grpc::ServerContext*, const v1::GetIndicatorRequest*,
                            v1::GetIndicatorResponse*) override;
  grpc::Status CreateIndicator(grpc::ServerContext*, const v1::CreateIndicatorRequest*,
                               v1::CreateIndicatorResponse*) override;
  grpc::Status RetireIndicator(grpc::ServerContext*, const v1::RetireIndicatorRequest*,
                               v1::RetireIndicatorResponse*) override;
  grpc::Status ReportObservations(grpc::ServerContext*, const v1::ReportObservationsRequest*,
                                  v1::ReportObservationsResponse*) override;
  grpc::Status StreamObservations(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::StreamObservationsResponse, v1::StreamObservationsRequest>*)
      override;
  grpc::Status GetSeries(grpc::ServerContext*, const v1::GetSeriesRequest*,
                         v1::GetSeriesResponse*) override;
  grpc::Status GetObservationHistory(grpc::ServerContext*, const v1::GetObservationHistoryRequest*,
                                     v1::GetObservationHistoryResponse*) override;
  grpc::Status ScanIndicator(grpc::ServerContext*, const v1::ScanIndicatorRequest*,
                             grpc::ServerWriter<v1::ScanIndicatorResponse>*) override;
  grpc::Status GetCoverage(grpc::ServerContext*, const v1::GetCoverageRequest*,
                           v1::GetCoverageResponse*) override;
  grpc::Status GetDataVersions(grpc::ServerContext*, const v1::GetDataVersionsRequest*,
                               v1::GetDataVersionsResponse*) override;
  grpc::Status ListChanges(grpc::ServerContext*, const v1::ListChangesRequest*,
                           v1::ListChangesResponse*) override;

 private:
  // Runs one batch through the core and records the per-item outcomes in /metrics.
  absl::StatusOr<std::vector<ItemResult>> ReportBatch(
      const grpc::ServerContext& ctx,
      const google::protobuf::RepeatedPtrField<v1::Observation>& observations);
  std::string Principal(const grpc::ServerContext& ctx) const;

  Ingest* ingest_;
  redis::ReplayCache* replay_;
  PrincipalFn principal_;
  metrics::Family<metrics::Counter>& observations_;
  metrics::Histogram& batch_sizes_;
  metrics::Gauge& streams_active_;
  metrics::Counter& streams_total_;
};

}  // namespace iplus::ingest
