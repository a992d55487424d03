#pragma once

// Helpers shared by the ingestion service's end-to-end and fault tests: a registry and an
// ingestion instance (the real Apps) on loopback, registering enterprises through the
// registry's gRPC API, building observations, matchers for per-item results, a local
// model of the outcome every observation should get, and a driver for
// StreamObservations that writes batches on one thread while it reads the
// acknowledgements on another.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/ingest/app.h"
#include "services/registry/app.h"
#include "tests/e2e/registry_e2e_util.h"

namespace iplus::ingest::e2e {

namespace v1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
using ::iplus::registry::e2e::CodeN;
using ::iplus::registry::e2e::GrpcInvalidField;
using ::iplus::registry::e2e::GrpcIs;
using ::iplus::registry::e2e::Manufacturer;
using ::iplus::registry::e2e::ViolationFields;
using IngestStub = v1::IngestService::Stub;
using RegistryStub = rv1::RegistryService::Stub;

inline constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// A channel with its own connection: test channels never share subchannels (and their
// reconnect back-off) through gRPC's global pool.
inline std::shared_ptr<grpc::Channel> Connect(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

inline void SetDeadline(grpc::ClientContext* context, absl::Duration timeout = kCallTimeout) {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

// One unary call with a deadline: Call(stub, &Stub::GetIndicator, request, &response).
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, Resp* response, absl::Duration timeout = kCallTimeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  return (stub.*method)(&context, request, response);
}

// A running registry (the real App) and a client of it.
class RegistryInstance {
 public:
  // Serves on 127.0.0.1:grpc_port (0: any free port) against Redis at `redis_port`.
  RegistryInstance(int redis_port, int grpc_port = 0) {
    registry::AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = absl::StrCat("127.0.0.1:", grpc_port);
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(1);
    // Authentication has its own tests (tests/auth).
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_port;
    app_ = std::make_unique<registry::App>(config);
    start_status_ = app_->Start();
    if (!start_status_.ok()) return;
    channel_ = Connect(app_->grpc_port());
    stub_ = rv1::RegistryService::NewStub(channel_);
  }
  ~RegistryInstance() { Shutdown(); }

  void Shutdown() {
    if (app_ != nullptr) app_->Shutdown();
  }

  const absl::Status& start_status() const { return start_status_; }
  int port() const { return app_->grpc_port(); }
  RegistryStub& stub() { return *stub_; }

  // Creates manufacturers CodeN(first) .. CodeN(first + count - 1); each must be new or
  // stored with the same content.
  grpc::Status RegisterManufacturers(int first, int count) {
    for (int start = first; start < first + count; start += 1000) {
      rv1::BatchCreateEnterprisesRequest request;
      for (int n = start; n < std::min(first + count, start + 1000); ++n) {
        *request.add_requests()->mutable_enterprise() = Manufacturer(n);
      }
      rv1::BatchCreateEnterprisesResponse response;
      grpc::Status status = Call(*stub_, &RegistryStub::BatchCreateEnterprises, request, &response);
      if (!status.ok()) return status;
      for (const auto& r : response.results()) {
        if (r.status().code() != 0) {
          return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()),
                              r.status().message());
        }
      }
    }
    return grpc::Status::OK;
  }

  // The registry's current version.
  int64_t Version() {
    rv1::ListEventsRequest request;
    request.set_after_version(0);
    request.set_page_size(1);
    rv1::ListEventsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = stub_->ListEvents(&context, request, &response);
    return status.ok() ? response.registry_version() : -1;
  }

  grpc::Status Archive(const std::string& code) {
    rv1::ArchiveEnterpriseRequest request;
    request.set_code(code);
    request.set_reason("merged into its parent company");
    rv1::ArchiveEnterpriseResponse response;
    return Call(*stub_, &RegistryStub::ArchiveEnterprise, request, &response);
  }

 private:
  std::unique_ptr<registry::App> app_;
  absl::Status start_status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<RegistryStub> stub_;
};

// A running ingestion service (the real App) and a client of it.
class IngestInstance {
 public:
  IngestInstance(int redis_port, int registry_port) {
    AppConfig config;
    config.server.service_name = "ingest";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(1);
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_port;
    config.registry_target = absl::StrCat("127.0.0.1:", registry_port);
    config.directory.poll_interval = absl::Milliseconds(100);
    app_ = std::make_unique<App>(config);
    start_status_ = app_->Start();
    if (!start_status_.ok()) return;
    channel_ = Connect(app_->grpc_port());
    stub_ = v1::IngestService::NewStub(channel_);
  }
  ~IngestInstance() {
    if (app_ != nullptr) app_->Shutdown();
  }

  const absl::Status& start_status() const { return start_status_; }
  int port() const { return app_->grpc_port(); }
  IngestStub& stub() { return *stub_; }

  // Waits until ingest's enterprise cache has followed the registry up to `version` (the
  // cache learns of registry changes within a poll interval, not at once).
  bool WaitDirectoryAt(int64_t version, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time deadline = absl::Now() + timeout;
    while (app_->directory_version() < version) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }

  // Waits until the service answers ListIndicators (the catalogue is seeded once Redis
  // answers the readiness probe).
  bool WaitReady(absl::Duration timeout = absl::Seconds(15)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      v1::ListIndicatorsRequest request;
      v1::ListIndicatorsResponse response;
      if (Call(*stub_, &IngestStub::ListIndicators, request, &response).ok() &&
          response.indicators_size() >= 5) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  std::unique_ptr<App> app_;
  absl::Status start_status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<IngestStub> stub_;
};

inline v1::Observation Number(const std::string& report_id, const std::string& code,
                              const std::string& indicator, const std::string& period,
                              double value) {
  v1::Observation o;
  o.set_report_id(report_id);
  o.set_enterprise_code(code);
  o.set_indicator(indicator);
  o.set_period(period);
  o.set_number_value(value);
  return o;
}

inline v1::Observation Bool(const std::string& report_id, const std::string& code,
                            const std::string& indicator, const std::string& period, bool value) {
  v1::Observation o;
  o.set_report_id(report_id);
  o.set_enterprise_code(code);
  o.set_indicator(indicator);
  o.set_period(period);
  o.set_bool_value(value);
  return o;
}

// The value of an observation as ScanIndicator reports it (booleans are 0 or 1).
inline double ValueOf(const v1::Observation& o) {
  return o.has_bool_value() ? (o.bool_value() ? 1.0 : 0.0) : o.number_value();
}

inline grpc::Status Report(IngestStub& stub, const std::vector<v1::Observation>& observations,
                           v1::ReportObservationsResponse* response,
                           const std::string& request_id = "") {
  v1::ReportObservationsRequest request;
  for (const auto& o : observations) *request.add_observations() = o;
  request.set_request_id(request_id);
  return Call(stub, &IngestStub::ReportObservations, request, response);
}

inline std::string Describe(const v1::ItemResult& r) {
  std::string out = absl::StrCat("#", r.index(), " ", v1::Outcome_Name(r.outcome()));
  if (r.outcome() == v1::OUTCOME_REJECTED) {
    absl::StrAppend(&out, " ", v1::RejectReason_Name(r.reject_reason()), " field=\"", r.field(),
                    "\" retryable=", r.retryable(), " (", r.message(), ")");
  } else {
    absl::StrAppend(&out, " revision=", r.revision());
  }
  return out;
}

// An ItemResult with the given outcome and revision.
MATCHER_P2(ItemIs, outcome, revision,
           absl::StrFormat("is %s revision %d", v1::Outcome_Name(outcome), revision)) {
  *result_listener << "which is " << Describe(arg);
  return arg.outcome() == outcome && arg.revision() == revision;
}

// A rejected ItemResult with the given reason, field and retryable flag.
MATCHER_P3(Rejected, reason, field, retryable,
           absl::StrFormat("is REJECTED %s field=\"%s\" retryable=%d",
                           v1::RejectReason_Name(reason), std::string(field), retryable)) {
  *result_listener << "which is " << Describe(arg);
  return arg.outcome() == v1::OUTCOME_REJECTED && arg.reject_reason() == reason &&
         arg.field() == std::string(field) && arg.retryable() == retryable && arg.revision() == 0;
}

// What the service should answer for one observation.
struct Expected {
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  v1::RejectReason reason = v1::REJECT_REASON_UNSPECIFIED;
  std::string field;
  bool retryable = false;
  int revision = 0;

  static Expected Reject(v1::RejectReason reason, std::string field, bool retryable = false) {
    Expected e;
    e.outcome = v1::OUTCOME_REJECTED;
    e.reason = reason;
    e.field = std::move(field);
    e.retryable = retryable;
    return e;
  }

  std::string ToString() const {
    if (outcome == v1::OUTCOME_REJECTED) {
      return absl::StrCat("REJECTED ", v1::RejectReason_Name(reason), " field=\"", field,
                          "\" retryable=", retryable);
    }
    return absl::StrCat(v1::Outcome_Name(outcome), " revision=", revision);
  }

  bool Matches(const v1::ItemResult& r) const {
    if (r.outcome() != outcome) return false;
    if (outcome == v1::OUTCOME_REJECTED) {
      return r.reject_reason() == reason && r.field() == field && r.retryable() == retryable &&
             r.revision() == 0;
    }
    return r.revision() == revision && !r.retryable();
  }
};

// The service's observable state, kept locally: the current value and revision of every
// (enterprise, indicator, period), and the content every report id was first stored
// with. Apply() gives the outcome of a valid observation (one the service stores or
// recognises: it passed validation and its enterprise is active) and updates the model.
class ObservationModel {
 public:
  struct Current {
    double value = 0;
    int revision = 0;
  };

  Expected Apply(const v1::Observation& o) {
    const std::string key = Key(o);
    const double value = ValueOf(o);
    const std::string fingerprint = absl::StrCat(key, "|", absl::StrFormat("%.17g", value));
    Expected e;
    auto seen = reports_.find(o.report_id());
    if (seen != reports_.end()) {
      if (seen->second != fingerprint) {
        return Expected::Reject(v1::REJECT_REASON_REPORT_ID_REUSED, "report_id");
      }
      e.outcome = v1::OUTCOME_DUPLICATE;
      e.revision = current_[key].revision;
      return e;
    }
    reports_[o.report_id()] = fingerprint;
    auto it = current_.find(key);
    if (it == current_.end()) {
      current_[key] = Current{value, 1};
      e.outcome = v1::OUTCOME_ACCEPTED;
      e.revision = 1;
    } else if (it->second.value == value) {
      e.outcome = v1::OUTCOME_DUPLICATE;
      e.revision = it->second.revision;
    } else {
      it->second = Current{value, it->second.revision + 1};
      e.outcome = v1::OUTCOME_REVISED;
      e.revision = it->second.revision;
    }
    return e;
  }

  // Current values of (indicator, period) by enterprise code, in code order.
  std::map<std::string, double> Column(const std::string& indicator,
                                       const std::string& period) const {
    std::map<std::string, double> out;
    for (const auto& [key, c] : current_) {
      auto [code, ind, per] = Split(key);
      if (ind == indicator && per == period) out[code] = c.value;
    }
    return out;
  }

  // Current values of one enterprise's indicator by period.
  std::map<std::string, Current> Series(const std::string& code,
                                        const std::string& indicator) const {
    std::map<std::string, Current> out;
    for (const auto& [key, c] : current_) {
      auto [k_code, ind, per] = Split(key);
      if (k_code == code && ind == indicator) out[per] = c;
    }
    return out;
  }

  bool Has(const std::string& code, const std::string& indicator, const std::string& period) const {
    return current_.count(absl::StrCat(code, "|", indicator, "|", period)) > 0;
  }
  const Current* Find(const std::string& code, const std::string& indicator,
                      const std::string& period) const {
    auto it = current_.find(absl::StrCat(code, "|", indicator, "|", period));
    return it == current_.end() ? nullptr : &it->second;
  }

 private:
  static std::string Key(const v1::Observation& o) {
    return absl::StrCat(o.enterprise_code(), "|", o.indicator(), "|", o.period());
  }
  static std::tuple<std::string, std::string, std::string> Split(const std::string& key) {
    size_t a = key.find('|');
    size_t b = key.find('|', a + 1);
    return {key.substr(0, a), key.substr(a + 1, b - a - 1), key.substr(b + 1)};
  }

  std::map<std::string, Current> current_;
  std::map<std::string, std::string> reports_;
};

// The outcome of one StreamObservations call.
struct StreamRun {
  std::vector<v1::StreamObservationsResponse> acks;
  grpc::Status status;
};

// Sends `batches` on one stream (a writer thread) while reading every acknowledgement
// (this thread), then half-closes and finishes. With cancel_after_acks >= 0 the call is
// cancelled (ClientContext::TryCancel, as when a connection drops) once that many
// acknowledgements have arrived.
inline StreamRun RunStream(IngestStub& stub,
                           const std::vector<v1::StreamObservationsRequest>& batches,
                           int cancel_after_acks = -1,
                           absl::Duration timeout = absl::Seconds(120)) {
  StreamRun run;
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  auto stream = stub.StreamObservations(&context);
  std::thread writer([&] {
    for (const auto& b : batches) {
      if (!stream->Write(b)) return;
    }
    stream->WritesDone();
  });
  v1::StreamObservationsResponse ack;
  while (stream->Read(&ack)) {
    run.acks.push_back(ack);
    if (cancel_after_acks >= 0 && static_cast<int>(run.acks.size()) == cancel_after_acks) {
      context.TryCancel();
      break;
    }
  }
  if (cancel_after_acks >= 0) {
    // Drain what the cancelled call still delivers so that the writer ends.
    while (stream->Read(&ack)) {
    }
  }
  writer.join();
  run.status = stream->Finish();
  return run;
}

}  // namespace iplus::ingest::e2e
