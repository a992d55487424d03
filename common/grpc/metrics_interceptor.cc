#include "common/grpc/metrics_interceptor.h"

#include <array>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/status.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"

namespace iplus {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

constexpr int kCodes = 17;

// The series of one method, resolved once so that a call only touches atomics.
struct MethodSeries {
  metrics::Counter* started = nullptr;
  metrics::Counter* received = nullptr;
  metrics::Counter* sent = nullptr;
  metrics::Histogram* seconds = nullptr;
  std::array<metrics::Counter*, kCodes> handled{};
};

class Factory;

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(const MethodSeries* series) : series_(series), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      series_->started->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      series_->received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      series_->sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      int code = static_cast<int>(methods->GetSendStatus().error_code());
      if (code < 0 || code >= kCodes) code = static_cast<int>(grpc::StatusCode::UNKNOWN);
      series_->handled[code]->Increment();
      series_->seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
      handled_ = true;
    }
    methods->Proceed();
  }

  ~MetricsInterceptor() override {
    // A call the client abandoned before any status was sent still counts as handled.
    if (!handled_) {
      series_->handled[static_cast<int>(grpc::StatusCode::CANCELLED)]->Increment();
      series_->seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
    }
  }

 private:
  const MethodSeries* series_;
  absl::Time start_;
  bool handled_ = false;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(metrics::Registry& registry)
      : started_(metrics::BuildCounter()
                     .Name("grpc_server_started_total")
                     .Help("Total number of RPCs started on the server.")
                     .Register(registry)),
        handled_(metrics::BuildCounter()
                     .Name("grpc_server_handled_total")
                     .Help("Total number of RPCs completed on the server, regardless of success "
                           "or failure.")
                     .Register(registry)),
        received_(metrics::BuildCounter()
                      .Name("grpc_server_msg_received_total")
                      .Help("Total number of RPC stream messages received on the server.")
                      .Register(registry)),
        sent_(metrics::BuildCounter()
                  .Name("grpc_server_msg_sent_total")
                  .Help("Total number of gRPC stream messages sent by the server.")
                  .Register(registry)),
        seconds_(metrics::BuildHistogram()
                     .Name("grpc_server_handling_seconds")
                     .Help("Histogram of response latency (seconds) of gRPC that had been "
                           "application-level handled by the server.")
                     .Register(registry)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    if (info->method() == nullptr) return nullptr;
    return new MetricsInterceptor(Series(info->method(), info->type()));
  }

 private:
  const MethodSeries* Series(const char* full_method, ServerRpcInfo::Type type) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = series_.find(full_method);
      if (it != series_.end()) return &it->second;
    }
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = series_.try_emplace(full_method);
    if (!inserted) return &it->second;
    // "/iplus.registry.v1.RegistryService/GetEnterprise" → service and method.
    std::string name(full_method);
    size_t slash = name.rfind('/');
    std::string service = name.substr(1, slash - 1);
    std::string method = name.substr(slash + 1);
    metrics::Labels labels{
        {"grpc_type", TypeName(type)}, {"grpc_service", service}, {"grpc_method", method}};
    MethodSeries& s = it->second;
    s.started = &started_.Add(labels);
    s.received = &received_.Add(labels);
    s.sent = &sent_.Add(labels);
    s.seconds = &seconds_.Add(labels, metrics::DefaultLatencyBuckets());
    for (int code = 0; code < kCodes; ++code) {
      metrics::Labels with_code = labels;
      with_code["grpc_code"] = GrpcCodeName(static_cast<grpc::StatusCode>(code));
      s.handled[code] = &handled_.Add(with_code);
    }
    return &s;
  }

  metrics::Family<metrics::Counter>& started_;
  metrics::Family<metrics::Counter>& handled_;
  metrics::Family<metrics::Counter>& received_;
  metrics::Family<metrics::Counter>& sent_;
  metrics::Family<metrics::Histogram>& seconds_;
  absl::Mutex mu_;
  std::map<std::string, MethodSeries, std::less<>> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry& registry) {
  return std::make_unique<Factory>(registry);
}

}  // namespace iplus
