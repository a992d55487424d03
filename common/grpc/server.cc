#include "common/grpc/server.h"

#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/metrics_interceptor.h"
#include "common/log/log.h"
#include "common/metrics/build_info.h"
#include "common/metrics/exposer.h"
#include "common/metrics/registry.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"

namespace iplus {
namespace internal {

// The calls a server is handling: a call counts from the creation of its interceptors
// (it has arrived and been matched to a method) to their destruction (its status has
// been sent, or it was abandoned).
class CallCounter {
 public:
  void Begin() {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
    ++started_;
  }
  void End() {
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }

  // Blocks until no call has been in flight, and none has started, for `settle` (true),
  // or until Finish() (false).
  bool AwaitQuiet(absl::Duration settle) {
    absl::MutexLock lock(&mu_);
    for (;;) {
      mu_.Await(absl::Condition(this, &CallCounter::IdleOrFinished));
      if (finished_) return false;
      const int64_t started = started_;
      if (mu_.AwaitWithTimeout(absl::Condition(&finished_), settle)) return false;
      if (in_flight_ == 0 && started_ == started) return true;
    }
  }

  void Finish() {
    absl::MutexLock lock(&mu_);
    finished_ = true;
  }

 private:
  bool IdleOrFinished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0 || finished_;
  }

  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace internal

namespace {

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(internal::CallCounter* counter) : counter_(counter) {
    counter_->Begin();
  }
  ~CountingInterceptor() override { counter_->End(); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  internal::CallCounter* counter_;
};

class CountingInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(internal::CallCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new CountingInterceptor(counter_);
  }

 private:
  internal::CallCounter* counter_;
};

// How long no call must have been in flight before the connections left are closed.
// Clients that read their connections answer the shutdown notice within milliseconds
// and close them by themselves; whatever is left after that belongs to a client that is
// not reading it (an idle gRPC client may look at its sockets only every few seconds).
constexpr absl::Duration kQuietBeforeClosing = absl::Milliseconds(100);

}  // namespace

Server::Server(ServerOptions options, std::shared_ptr<metrics::Registry> registry)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      calls_(std::make_unique<internal::CallCounter>()) {}

Server::~Server() {
  Shutdown();
  if (probe_thread_.joinable()) probe_thread_.join();
}

void Server::AddService(grpc::Service* service, std::string full_name) {
  services_.push_back(service);
  service_names_.push_back(std::move(full_name));
}

void Server::SetReadinessProbe(std::function<absl::Status()> probe) { probe_ = std::move(probe); }

int Server::metrics_port() const { return exposer_ ? exposer_->port() : 0; }

bool Server::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

absl::Status Server::Start() {
  metrics::SetBuildInfo(*registry_, options_.service_name, options_.version);
  if (!options_.metrics_address.empty()) {
    auto exposer = metrics::Exposer::Create(options_.metrics_address);
    if (!exposer.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "metrics address ", options_.metrics_address, ": ", exposer.status().message()));
    }
    exposer_ = std::move(*exposer);
    exposer_->RegisterCollectable(registry_);
    // /readyz mirrors the health service, for probes that cannot use gRPC over TLS.
    exposer_->SetReadiness([this] { return serving(); });
  }

  auto gate = internal::AuthGate::Create(options_.auth, *registry_);
  if (!gate.ok()) return gate.status();
  gate_ = *std::move(gate);
  gate_->SetAuditSink(audit_sink_);
  guarded_.clear();
  for (size_t i = 0; i < services_.size(); ++i) {
    auto guarded = gate_->Guard(services_[i], service_names_[i]);
    if (!guarded.ok()) return guarded.status();
    guarded_.push_back(*std::move(guarded));
  }
  if (options_.auth.allow_unauthenticated) {
    log::Warn(
        "authentication is off (--allow_unauthenticated): every caller is an anonymous admin; "
        "for local use only");
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  auto credentials =
      options_.credentials ? options_.credentials : grpc::InsecureServerCredentials();
  builder.AddListeningPort(options_.grpc_address, credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  // Let clients keep idle connections alive with pings every 10 s or more.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  for (auto& service : guarded_) builder.RegisterService(service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<CountingInterceptorFactory>(calls_.get()));
  creators.push_back(MakeMetricsInterceptorFactory(*registry_));
  creators.push_back(gate_->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen for gRPC on ", options_.grpc_address));
  }
  // gRPC's default health service starts with the server as a whole ("") SERVING and
  // knows no service names. Until the first probe has passed, everything is NOT_SERVING:
  // set it before the probe runs, since the port already accepts calls and the first
  // probe may take a while (a readiness probe that fails must never be preceded by a
  // SERVING answer). The health service reports only names it has been given once;
  // after that, SetServingStatus(bool) updates the overall status and every one of them
  // together.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  for (const std::string& name : service_names_) health->SetServingStatus(name, false);
  health->SetServingStatus(false);
  bool serving = probe_ ? probe_().ok() : true;
  SetServing(serving);
  if (probe_) probe_thread_ = std::thread([this] { ProbeLoop(); });
  log::Info("serving", {log::Field::Str("grpc_address", options_.grpc_address),
                        log::Field::Int("grpc_port", grpc_port_),
                        log::Field::Int("metrics_port", metrics_port()),
                        log::Field::Bool("tls", options_.credentials != nullptr),
                        log::Field::Bool("authentication", !options_.auth.token_file.empty())});
  return absl::OkStatus();
}

void Server::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_ || server_ == nullptr) return;
  if (serving_ != serving) {
    log::Write(serving ? log::Level::kInfo : log::Level::kWarning,
               serving ? "health SERVING" : "health NOT_SERVING");
  }
  serving_ = serving;
  // SetServingStatus(bool) applies to the overall status and every registered service.
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

void Server::ProbeLoop() {
  while (!stop_probe_.WaitForNotificationWithTimeout(options_.probe_interval)) {
    absl::Status status = probe_();
    if (!status.ok() && serving()) {
      log::Warn("readiness probe failed", {log::Field::Status("error", status)});
    }
    SetServing(status.ok());
  }
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || server_ == nullptr) {
      shut_down_ = true;
      if (!stop_probe_.HasBeenNotified()) stop_probe_.Notify();
      return;
    }
    server_->GetHealthCheckService()->SetServingStatus(false);
    serving_ = false;
    shut_down_ = true;
  }
  if (!stop_probe_.HasBeenNotified()) stop_probe_.Notify();
  if (probe_thread_.joinable()) probe_thread_.join();
  log::Info("draining", {log::Field::Int("drain_timeout_ms",
                                         absl::ToInt64Milliseconds(options_.drain_timeout))});
  // gRPC's Shutdown returns only once every connection has closed, or at the deadline:
  // after its GOAWAY it waits for each client to acknowledge it, also on connections
  // with no call in flight. A gRPC client with no call in flight reads its connections
  // only on a backup poll every 5 s, one ready connection per poll, so a process holding
  // idle channels to several services stopped one after another held the later drains
  // for 5 to 10 s, up to the whole timeout. Once no call is in flight, the closer closes
  // the connections left.
  std::thread closer([this] { CloseIdleConnections(); });
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.drain_timeout));
  calls_->Finish();
  closer.join();
  server_->Wait();
  log::Info("stopped");
}

void Server::CloseIdleConnections() {
  // Repeated while the shutdown lasts: a connection accepted just before the listener
  // closed may still arrive.
  while (calls_->AwaitQuiet(kQuietBeforeClosing)) {
    grpc_server_cancel_all_calls(server_->c_server());
  }
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Server::RunUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log::Info("signal received", {log::Field::Int("signal", sig)});
  Shutdown();
}

}  // namespace iplus
