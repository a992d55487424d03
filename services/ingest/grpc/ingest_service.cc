#include "services/ingest/grpc/ingest_service.h"

#include <utility>

#include "common/auth/scope.h"
#include "common/grpc/auth_gate.h"
#include "common/grpc/replayable.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"
#include "common/status/status.h"
#include "services/ingest/convert/convert.h"

namespace iplus::ingest {
namespace {

metrics::Histogram::BucketBoundaries BatchBuckets() { return {1, 10, 100, 500, 1000, 2000, 5000}; }

// The caller's regions as the core's per-call report policy.
class CallerRegions : public ReportPolicy {
 public:
  explicit CallerRegions(const auth::Principal& p) : p_(p) {}
  bool MayReport(const std::string&, const EnterpriseInfo& enterprise) override {
    return p_.all_regions || (!enterprise.region.empty() && p_.MayTouchRegion(enterprise.region));
  }

 private:
  const auth::Principal& p_;
};

}  // namespace

IngestServiceImpl::IngestServiceImpl(Ingest* ingest, redis::ReplayCache* replay,
                                     metrics::Registry& metrics, EnterpriseDirectory* directory,
                                     std::string instance_region)
    : ingest_(ingest),
      replay_(replay),
      directory_(directory),
      instance_region_(std::move(instance_region)),
      observations_(metrics::BuildCounter()
                        .Name("iplus_ingest_observations_total")
                        .Help("Reported observations by outcome and reject reason.")
                        .Register(metrics)),
      batch_sizes_(metrics::BuildHistogram()
                       .Name("iplus_ingest_batch_size")
                       .Help("Observations per reported batch (unary or stream).")
                       .Register(metrics)
                       .Add({}, BatchBuckets())),
      streams_active_(metrics::BuildGauge()
                          .Name("iplus_ingest_streams_active")
                          .Help("Open StreamObservations streams.")
                          .Register(metrics)
                          .Add({})),
      streams_total_(metrics::BuildCounter()
                         .Name("iplus_ingest_streams_total")
                         .Help("StreamObservations streams opened.")
                         .Register(metrics)
                         .Add({})) {}

absl::Status IngestServiceImpl::CheckCode(const auth::Principal& p, const std::string& code) {
  if (!auth::RegionLimited(p)) return absl::OkStatus();
  // A malformed code is the core's to report (INVALID_ARGUMENT naming the field).
  if (!refdata::ValidateCreditCode(code).ok()) return absl::OkStatus();
  auto info = directory_->Lookup({code});
  if (info.size() != 1) return absl::InternalError("directory returned no answer");
  if (!info[0].ok()) return info[0].status();
  return auth::CheckEnterprise(p, code, info[0]->known ? &info[0]->region : nullptr);
}

absl::StatusOr<std::vector<ItemResult>> IngestServiceImpl::ReportBatch(
    const auth::Principal& caller,
    const google::protobuf::RepeatedPtrField<v1::Observation>& observations) {
  std::vector<ObservationInput> items;
  items.reserve(observations.size());
  for (const auto& o : observations) items.push_back(FromProto(o));
  batch_sizes_.Observe(static_cast<double>(items.size()));
  CallerRegions regions(caller);
  auto results = ingest_->Report(caller.name, items, &regions);
  if (!results.ok()) return results.status();
  // Count per (outcome, reason) locally, then touch each series once.
  std::map<std::pair<int, int>, double> counts;
  for (const auto& r : *results) {
    ++counts[{static_cast<int>(r.outcome), static_cast<int>(r.reason)}];
  }
  for (const auto& [key, n] : counts) {
    static const char* const kOutcomes[] = {"unspecified", "accepted", "duplicate", "revised",
                                            "rejected"};
    observations_
        .Add({{"outcome", kOutcomes[key.first]},
              {"reason",
               key.second == 0 ? "" : RejectReasonName(static_cast<RejectReason>(key.second))}})
        .Increment(n);
  }
  return results;
}

grpc::Status IngestServiceImpl::ListIndicators(grpc::ServerContext*,
                                               const v1::ListIndicatorsRequest* req,
                                               v1::ListIndicatorsResponse* resp) {
  auto page = ingest_->ListIndicators(req->include_retired(), req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& i : page->indicators) ToProto(i, resp->add_indicators());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::GetIndicator(grpc::ServerContext*,
                                             const v1::GetIndicatorRequest* req,
                                             v1::GetIndicatorResponse* resp) {
  auto i = ingest_->GetIndicator(req->id());
  if (!i.ok()) return ToGrpcStatus(i.status());
  ToProto(*i, resp->mutable_indicator());
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::CreateIndicator(grpc::ServerContext*,
                                                const v1::CreateIndicatorRequest* req,
                                                v1::CreateIndicatorResponse* resp) {
  return Replayable(replay_, "CreateIndicator", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      // Unset means annual; an unknown number is refused here, since the
                      // domain's granularity has no such value.
                      if (!v1::Granularity_IsValid(req->indicator().granularity())) {
                        return InvalidField("indicator.granularity",
                                            "must be GRANULARITY_YEAR (the default), "
                                            "GRANULARITY_QUARTER or GRANULARITY_MONTH");
                      }
                      auto r = ingest_->CreateIndicator(FromProto(req->indicator()));
                      if (!r.ok()) return r.status();
                      ToProto(r->first, resp->mutable_indicator());
                      resp->set_created(r->second);
                      return absl::OkStatus();
                    });
}

grpc::Status IngestServiceImpl::RetireIndicator(grpc::ServerContext*,
                                                const v1::RetireIndicatorRequest* req,
                                                v1::RetireIndicatorResponse* resp) {
  return Replayable(replay_, "RetireIndicator", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      auto r = ingest_->RetireIndicator(req->id(), req->reason());
                      if (!r.ok()) return r.status();
                      ToProto(*r, resp->mutable_indicator());
                      return absl::OkStatus();
                    });
}

grpc::Status IngestServiceImpl::ReportObservations(grpc::ServerContext* ctx,
                                                   const v1::ReportObservationsRequest* req,
                                                   v1::ReportObservationsResponse* resp) {
  return Replayable(replay_, "ReportObservations", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      auto results = ReportBatch(CurrentPrincipal(ctx), req->observations());
                      if (!results.ok()) return results.status();
                      for (const auto& r : *results) ToProto(r, resp->add_results());
                      return absl::OkStatus();
                    });
}

grpc::Status IngestServiceImpl::StreamObservations(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::StreamObservationsResponse, v1::StreamObservationsRequest>*
        stream) {
  // One batch at a time: the next batch is read only after this one is acknowledged, so
  // a fast client is held back by HTTP/2 flow control instead of filling server memory.
  streams_total_.Increment();
  streams_active_.Increment();
  v1::StreamObservationsRequest req;
  while (stream->Read(&req)) {
    v1::StreamObservationsResponse ack;
    ack.set_batch_id(req.batch_id());
    auto results = ReportBatch(CurrentPrincipal(ctx), req.observations());
    *ack.mutable_status() = ToRpcStatus(results.status());
    if (results.ok()) {
      for (const auto& r : *results) ToProto(r, ack.add_results());
    }
    if (!stream->Write(ack)) break;
  }
  streams_active_.Decrement();
  if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::GetSeries(grpc::ServerContext* ctx, const v1::GetSeriesRequest* req,
                                          v1::GetSeriesResponse* resp) {
  if (absl::Status s = CheckCode(CurrentPrincipal(ctx), req->enterprise_code()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto series = ingest_->GetSeries(req->enterprise_code(), req->indicator(), req->periods().start(),
                                   req->periods().end());
  if (!series.ok()) return ToGrpcStatus(series.status());
  auto indicator = ingest_->GetIndicator(req->indicator());
  ValueType type = indicator.ok() ? indicator->value_type : ValueType::kNumber;
  for (const auto& o : *series) ToProto(o, type, resp->add_observations());
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::GetObservationHistory(grpc::ServerContext* ctx,
                                                      const v1::GetObservationHistoryRequest* req,
                                                      v1::GetObservationHistoryResponse* resp) {
  if (absl::Status s = CheckCode(CurrentPrincipal(ctx), req->enterprise_code()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto history = ingest_->GetHistory(req->enterprise_code(), req->indicator(), req->period());
  if (!history.ok()) return ToGrpcStatus(history.status());
  auto indicator = ingest_->GetIndicator(req->indicator());
  ValueType type = indicator.ok() ? indicator->value_type : ValueType::kNumber;
  for (const auto& h : *history) {
    auto* r = resp->add_revisions();
    r->set_revision(h.revision);
    r->set_report_id(h.report_id);
    r->set_reporter(h.reporter);
    r->mutable_report_time()->set_seconds(absl::ToUnixSeconds(h.time));
    if (h.old_value) SetValue(*h.old_value, type, r->mutable_old_value());
    SetValue(h.new_value, type, r->mutable_new_value());
    for (const auto& f : h.flags) ToProto(f, r->add_flags());
  }
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::ScanIndicator(
    grpc::ServerContext* ctx, const v1::ScanIndicatorRequest* req,
    grpc::ServerWriter<v1::ScanIndicatorResponse>* writer) {
  if (absl::Status s = auth::CheckCoversInstance(CurrentPrincipal(ctx), instance_region_);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  bool client_gone = false;
  absl::Status s =
      ingest_->Scan(req->indicator(), req->period(), req->batch_size(),
                    [&](const std::vector<std::pair<std::string, double>>& rows, int64_t version) {
                      if (ctx->IsCancelled()) {
                        client_gone = true;
                        return false;
                      }
                      v1::ScanIndicatorResponse out;
                      out.set_data_version(version);
                      out.mutable_enterprise_codes()->Reserve(static_cast<int>(rows.size()));
                      out.mutable_values()->Reserve(static_cast<int>(rows.size()));
                      for (const auto& [code, value] : rows) {
                        out.add_enterprise_codes(code);
                        out.add_values(value);
                      }
                      if (!writer->Write(out)) {
                        client_gone = true;
                        return false;
                      }
                      return true;
                    });
  if (client_gone) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  return ToGrpcStatus(s);
}

grpc::Status IngestServiceImpl::GetCoverage(grpc::ServerContext* ctx,
                                            const v1::GetCoverageRequest* req,
                                            v1::GetCoverageResponse* resp) {
  if (absl::Status s = auth::CheckCoversInstance(CurrentPrincipal(ctx), instance_region_);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto coverage =
      ingest_->GetCoverage(req->indicator(), req->periods().start(), req->periods().end());
  if (!coverage.ok()) return ToGrpcStatus(coverage.status());
  for (const auto& c : *coverage) {
    auto* p = resp->add_periods();
    p->set_period(c.period);
    p->set_reporters(c.reporters);
    p->set_data_version(c.data_version);
  }
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::GetDataVersions(grpc::ServerContext*,
                                                const v1::GetDataVersionsRequest* req,
                                                v1::GetDataVersionsResponse* resp) {
  std::vector<DataKey> keys;
  for (const auto& k : req->keys()) keys.push_back(DataKey{k.indicator(), k.period()});
  auto versions = ingest_->GetDataVersions(keys);
  if (!versions.ok()) return ToGrpcStatus(versions.status());
  for (int i = 0; i < req->keys_size(); ++i) {
    auto* v = resp->add_versions();
    *v->mutable_key() = req->keys(i);
    v->set_version(versions->first[i]);
  }
  resp->set_ingest_version(versions->second);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::ListChanges(grpc::ServerContext* ctx,
                                            const v1::ListChangesRequest* req,
                                            v1::ListChangesResponse* resp) {
  if (absl::Status s = auth::CheckCoversInstance(CurrentPrincipal(ctx), instance_region_);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto page = ingest_->ListChanges(req->after_version(), req->page_size());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& c : page->changes) {
    auto* out = resp->add_changes();
    out->set_version(c.version);
    out->mutable_key()->set_indicator(c.key.indicator);
    out->mutable_key()->set_period(c.key.period);
    out->set_data_version(c.data_version);
    out->mutable_time()->set_seconds(absl::ToUnixSeconds(c.time));
    out->set_enterprises_listed(c.listed);
    for (const auto& [code, value] : c.values) {
      out->add_enterprise_codes(code);
      out->add_values(value);
    }
  }
  resp->set_ingest_version(page->ingest_version);
  resp->set_truncated(page->truncated);
  return grpc::Status::OK;
}

}  // namespace iplus::ingest
