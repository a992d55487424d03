#include "services/ingest/app.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "common/grpc/redis_metrics.h"
#include "common/log/log.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace iplus::ingest {

App::App(AppConfig config) : config_(std::move(config)) {
  metrics_ = std::make_shared<metrics::Registry>();
  if (!config_.redis.observer) config_.redis.observer = MakeRedisMetricsObserver(*metrics_);
  redis_ = std::make_unique<redis::Client>(config_.redis);
  store_ = std::make_unique<RedisStore>(redis_.get(), config_.store);
  replay_ = std::make_unique<redis::ReplayCache>(redis_.get(), store_->prefix());
  grpc::ChannelArguments args;
  // Spread calls over every registry pod behind a dns:/// target.
  args.SetLoadBalancingPolicyName("round_robin");
  // Reconnect to a registry that was down within about a second, not gRPC's default
  // back-off of up to two minutes: until then, reports for uncached enterprises are
  // rejected as retryable.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  registry_channel_ = CreateServiceChannel(config_.registry_target, config_.registry_tls,
                                           config_.registry_token, args);
  directory_ = std::make_unique<RegistryDirectory>(registry_channel_, redis_.get(),
                                                   store_->prefix(), *metrics_, config_.directory);
  peers_ = std::make_unique<PeerStats>(config_.peer_sample_size);
  config_.ingest.seed_peers = true;
  ingest_ = std::make_unique<Ingest>(store_.get(), directory_.get(), &clock_, peers_.get(),
                                     /*policy=*/nullptr, config_.ingest);
  service_ = std::make_unique<IngestServiceImpl>(ingest_.get(), replay_.get(), *metrics_,
                                                 directory_.get(), config_.store.region_prefix);
  audit_ = std::make_unique<audit::AuditLog>(redis_.get(), store_->prefix(), config_.audit,
                                             metrics_.get());
  audit_service_ =
      std::make_unique<audit::AuditServiceImpl>(audit_.get(), config_.store.region_prefix);
  server_ = std::make_unique<Server>(config_.server, metrics_);
  server_->AddService(service_.get(), v1::IngestService::service_full_name());
  server_->AddService(audit_service_.get(), audit::v1::AuditService::service_full_name());
  server_->SetAuditSink(audit_.get());
  server_->SetReadinessProbe([this] { return Ready(); });
}

App::~App() {
  Shutdown();
  directory_->Stop();
}

absl::Status App::Ready() {
  if (!catalogue_ready_.load()) {
    // The bucket layout check and the built-in indicators need Redis once.
    absl::Status s = store_->Init();
    if (s.ok()) s = ingest_->SeedCatalogue();
    if (!s.ok()) {
      if (s.code() == absl::StatusCode::kFailedPrecondition) {
        log::Error("refusing to serve", {log::Field::Status("error", s)});
      }
      return s;
    }
    catalogue_ready_.store(true);
    WarnAboutEncoding();
  }
  return redis_->Ping();
}

void App::WarnAboutEncoding() {
  // Series texts exceed Redis's default 64-byte listpack value limit; with it, series
  // hashes fall back to the much larger hashtable encoding. A managed Redis may refuse
  // CONFIG, in which case nothing is said.
  auto reply = redis_->Command({"CONFIG", "GET", "hash-max-listpack-value"});
  if (!reply.ok() || !reply->IsArray() || reply->elements().size() != 2) return;
  int64_t limit = 0;
  if (absl::SimpleAtoi(reply->elements()[1].str(), &limit) && limit < 512) {
    log::Warn(
        "Redis hash-max-listpack-value is small; observations will take several times "
        "more memory (set it to 1024)",
        {log::Field::Int("hash_max_listpack_value", limit)});
  }
}

absl::Status App::Start() {
  if (absl::Status s = directory_->Start(); !s.ok()) return s;
  return server_->Start();
}

void App::Shutdown() { server_->Shutdown(); }

void App::RunUntilSignal() { server_->RunUntilSignal(); }

}  // namespace iplus::ingest
