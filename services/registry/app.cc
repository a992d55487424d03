#include "services/registry/app.h"

#include <utility>

#include "common/grpc/redis_metrics.h"

namespace iplus::registry {

App::App(AppConfig config) : config_(std::move(config)) {
  metrics_ = std::make_shared<metrics::Registry>();
  if (!config_.redis.observer) config_.redis.observer = MakeRedisMetricsObserver(*metrics_);
  config_.store.region_prefix = config_.registry.region_prefix;
  redis_ = std::make_unique<redis::Client>(config_.redis);
  store_ = std::make_unique<RedisStore>(redis_.get(), config_.store);
  replay_ = std::make_unique<redis::ReplayCache>(redis_.get(), store_->prefix());
  registry_ = std::make_unique<Registry>(store_.get(), &clock_, config_.registry);
  service_ = std::make_unique<RegistryServiceImpl>(registry_.get(), replay_.get());
  audit_ = std::make_unique<audit::AuditLog>(redis_.get(), store_->prefix(), config_.audit,
                                             metrics_.get());
  audit_service_ =
      std::make_unique<audit::AuditServiceImpl>(audit_.get(), config_.registry.region_prefix);
  server_ = std::make_unique<Server>(config_.server, metrics_);
  server_->AddService(service_.get(), v1::RegistryService::service_full_name());
  server_->AddService(audit_service_.get(), audit::v1::AuditService::service_full_name());
  server_->SetAuditSink(audit_.get());
  server_->SetReadinessProbe([this] { return redis_->Ping(); });
}

App::~App() { Shutdown(); }

absl::Status App::Start() { return server_->Start(); }

void App::Shutdown() { server_->Shutdown(); }

void App::RunUntilSignal() { server_->RunUntilSignal(); }

}  // namespace iplus::registry
