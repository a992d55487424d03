#pragma once

// The ingestion service's gRPC adapter. The server bootstrap has authenticated the caller
// and checked its role before a handler runs; the handlers narrow the call to the
// caller's regions (common/auth/scope.h): observations for an enterprise outside them
// are rejected NOT_AUTHORIZED item by item, series and histories of such an enterprise
// are PERMISSION_DENIED, and the calls that read the whole instance (scans, coverage,
// the change stream) need regions that cover the instance's. The caller's principal
// name is the reporter of what it reports.

#include <functional>
#include <string>

#include "common/auth/auth.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "common/replay/replay_cache.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/domain/directory.h"
#include "services/ingest/domain/ingest.h"

namespace iplus::ingest {

class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  // `ingest`, `directory` and `metrics` must outlive the service; `replay` may be null.
  // `instance_region` is the instance's region prefix ("" national).
  IngestServiceImpl(Ingest* ingest, redis::ReplayCache* replay, metrics::Registry& metrics,
                    EnterpriseDirectory* directory, std::string instance_region);

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
      const auth::Principal& caller,
      const google::protobuf::RepeatedPtrField<v1::Observation>& observations);
  // PERMISSION_DENIED unless the caller may read enterprise `code`; UNAVAILABLE when the
  // registry cannot be asked about a code it has not cached.
  absl::Status CheckCode(const auth::Principal& p, const std::string& code);

  Ingest* ingest_;
  redis::ReplayCache* replay_;
  EnterpriseDirectory* directory_;
  const std::string instance_region_;
  metrics::Family<metrics::Counter>& observations_;
  metrics::Histogram& batch_sizes_;
  metrics::Gauge& streams_active_;
  metrics::Counter& streams_total_;
};

}  // namespace iplus::ingest
