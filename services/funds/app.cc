#include "services/funds/app.h"

#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/redis_metrics.h"
#include "common/log/log.h"
#include "grpcpp/support/channel_arguments.h"

namespace iplus::funds {
namespace {

// Channels to the registry and evaluation, made like evaluation's: TLS from the
// service's files, round-robin over a dns:/// target's addresses, reconnects within
// about a second, the service token on every call.
std::shared_ptr<grpc::Channel> MakeServiceChannel(const std::string& target, const TlsFiles& tls,
                                                  std::shared_ptr<ServiceToken> token) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return CreateServiceChannel(target, tls, std::move(token), args);
}

}  // namespace

App::App(AppConfig config) : config_(std::move(config)) {
  metrics_ = std::make_shared<metrics::Registry>();
  if (!config_.redis.observer) config_.redis.observer = MakeRedisMetricsObserver(*metrics_);
  redis_ = std::make_unique<redis::Client>(config_.redis);
  config_.ledger.region = config_.region_prefix;
  ledger_ = std::make_unique<RedisLedger>(redis_.get(), &clock_, config_.ledger);
  catalog_ = std::make_unique<FundCatalog>(redis_.get(), ledger_->prefix());
  locks_ = std::make_unique<ProjectLocks>(redis_.get(), catalog_.get());
  replay_ = std::make_unique<redis::ReplayCache>(redis_.get(), ledger_->prefix());
  registry_channel_ =
      MakeServiceChannel(config_.registry_target, config_.peer_tls, config_.service_token);
  evaluation_channel_ =
      MakeServiceChannel(config_.evaluation_target, config_.peer_tls, config_.service_token);
  registry_stub_ = registry::v1::RegistryService::NewStub(registry_channel_);
  evaluation_stub_ = evaluation::v1::EvaluationService::NewStub(evaluation_channel_);
  FundsServiceOptions options;
  options.region_prefix = config_.region_prefix;
  options.evaluation_deadline = config_.evaluation_deadline;
  options.registry_deadline = config_.registry_deadline;
  service_ = std::make_unique<FundsServiceImpl>(
      ledger_.get(), catalog_.get(), locks_.get(), registry_stub_.get(), evaluation_stub_.get(),
      replay_.get(), &clock_, *metrics_, [this] { return Writable(); }, options);
  LedgerMaintenanceOptions maintenance;
  maintenance.expire_interval = config_.expire_interval;
  maintenance_ = std::make_unique<LedgerMaintenance>(
      ledger_.get(), *metrics_, [this] { return durable_.load(); }, maintenance);
  audit_ = std::make_unique<audit::AuditLog>(redis_.get(), ledger_->prefix(), config_.audit,
                                             metrics_.get());
  audit_service_ = std::make_unique<audit::AuditServiceImpl>(audit_.get(), config_.region_prefix);
  server_ = std::make_unique<Server>(config_.server, metrics_);
  server_->AddService(service_.get(), v1::FundsService::service_full_name());
  server_->AddService(audit_service_.get(), audit::v1::AuditService::service_full_name());
  server_->SetAuditSink(audit_.get());
  server_->SetReadinessProbe([this] { return Ready(); });
}

App::~App() {
  Shutdown();
  maintenance_->Stop();
}

absl::Status App::Writable() const {
  if (durable_.load()) return absl::OkStatus();
  return absl::UnavailableError(
      "the ledger accepts no writes until Redis is confirmed to keep them on disk "
      "(appendonly yes, appendfsync always)");
}

absl::Status App::CheckDurabilityNow() {
  absl::Status s = CheckDurability(redis_.get(), config_.allow_non_durable_redis);
  {
    absl::MutexLock lock(&check_mu_);
    next_check_ = absl::Now() + config_.durability_recheck;
  }
  if (s.ok()) {
    if (!durable_.exchange(true)) {
      log::Info(
          config_.allow_non_durable_redis
              ? "the ledger accepts writes (--allow_non_durable_redis: durability not required)"
              : "Redis keeps writes on disk: the ledger accepts writes",
          {log::Field::Bool("allow_non_durable_redis", config_.allow_non_durable_redis)});
    }
    return s;
  }
  if (s.code() == absl::StatusCode::kFailedPrecondition && durable_.exchange(false)) {
    log::Error("Redis no longer keeps writes on disk: the ledger accepts no writes",
               {log::Field::Status("error", s)});
  }
  return s;
}

absl::Status App::Ready() {
  if (absl::Status s = redis_->Ping(); !s.ok()) return s;
  bool due;
  {
    absl::MutexLock lock(&check_mu_);
    // With the override, one successful check is enough (it only warns).
    due = !durable_.load() || (!config_.allow_non_durable_redis && absl::Now() >= next_check_);
  }
  if (due) return CheckDurabilityNow();
  return absl::OkStatus();
}

absl::Status App::Start() {
  absl::Status durable = CheckDurabilityNow();
  if (durable.code() == absl::StatusCode::kFailedPrecondition) {
    log::Error(
        "refusing to start: the funds ledger needs Redis with appendonly yes and appendfsync "
        "always (or --allow_non_durable_redis for tests and local runs)",
        {log::Field::Status("error", durable)});
    return durable;
  }
  if (!durable.ok()) {
    log::Warn(
        "Redis unreachable at start: its durability is checked once it answers; until then "
        "the ledger accepts no writes",
        {log::Field::Status("error", durable)});
  }
  if (absl::Status s = server_->Start(); !s.ok()) return s;
  maintenance_->Start();
  return absl::OkStatus();
}

void App::Shutdown() {
  if (shut_down_.exchange(true)) return;
  server_->Shutdown();
  maintenance_->Stop();
}

void App::RunUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log::Info("signal received", {log::Field::Int("signal", sig)});
  Shutdown();
}

}  // namespace iplus::funds
