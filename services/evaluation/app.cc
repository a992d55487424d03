#include "services/evaluation/app.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/redis_metrics.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/domain/evaluate.h"

namespace iplus::evaluation {

absl::StatusOr<std::vector<Target>> LoadTargetsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidField("--targets_file", absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::ListValue list;
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &list);
  if (!parsed.ok()) {
    return InvalidField("--targets_file",
                        absl::StrCat(path, " is not a JSON array: ", parsed.message().ToString()));
  }
  std::vector<Target> out;
  for (int i = 0; i < list.values_size(); ++i) {
    const std::string where = absl::StrCat(path, " entry ", i);
    std::string json;
    v1::Target proto;
    if (!google::protobuf::util::MessageToJsonString(list.values(i), &json).ok() ||
        !google::protobuf::util::JsonStringToMessage(json, &proto).ok()) {
      return InvalidField("--targets_file", absl::StrCat(where, " is not a Target"));
    }
    auto t = TargetFromProto(proto);
    if (!t.ok())
      return InvalidField("--targets_file", absl::StrCat(where, ": ", t.status().message()));
    IndicatorInfo info;
    info.id = t->indicator;
    info.boolean =
        t->aggregation == Aggregation::kShareTrue || t->aggregation == Aggregation::kCountTrue;
    info.granularity = t->baseline.granularity;
    if (absl::Status s = ValidateTarget(*t, info, "target"); !s.ok()) {
      return InvalidField("--targets_file", absl::StrCat(where, ": ", s.message()));
    }
    for (const Target& earlier : out) {
      if (earlier.id == t->id) {
        return InvalidField("--targets_file", absl::StrCat(where, ": repeats id ", t->id));
      }
    }
    out.push_back(*std::move(t));
  }
  return out;
}

std::shared_ptr<grpc::Channel> MakeServiceChannel(const std::string& target, const TlsFiles& tls,
                                                  std::shared_ptr<ServiceToken> token) {
  grpc::ChannelArguments args;
  // Spread calls over every pod behind a dns:/// target.
  args.SetLoadBalancingPolicyName("round_robin");
  // Reconnect to a service that was down within about a second, not gRPC's default
  // back-off of up to two minutes: until then the feed falls behind.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Column scans of a large province exceed gRPC's default 4 MB.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return CreateServiceChannel(target, tls, std::move(token), args);
}

App::App(AppConfig config) : config_(std::move(config)) {
  metrics_ = std::make_shared<metrics::Registry>();
  if (!config_.redis.observer) config_.redis.observer = MakeRedisMetricsObserver(*metrics_);
  redis_ = std::make_unique<redis::Client>(config_.redis);
  store_ = std::make_unique<TargetStore>(redis_.get(), TargetStoreOptions{config_.region_prefix});
  cache_ = std::make_unique<ResultCache>(redis_.get(), store_->prefix(), config_.cache_ttl);
  replay_ = std::make_unique<redis::ReplayCache>(redis_.get(), store_->prefix());
  registry_channel_ =
      MakeServiceChannel(config_.registry_target, config_.peer_tls, config_.service_token);
  ingest_channel_ =
      MakeServiceChannel(config_.ingest_target, config_.peer_tls, config_.service_token);
  registry_stub_ = registry::v1::RegistryService::NewStub(registry_channel_);
  ingest_stub_ = ingest::v1::IngestService::NewStub(ingest_channel_);
  config_.feed.region_prefix = config_.region_prefix;
  TargetSource targets;
  targets.version = [this] { return store_->Version(); };
  targets.all = [this] { return store_->All(); };
  feed_ = std::make_unique<Feed>(registry_stub_.get(), ingest_stub_.get(), std::move(targets),
                                 *metrics_, config_.feed);
  evaluator_ = std::make_unique<Evaluator>(feed_.get(), cache_.get(), &clock_, *metrics_);
  ServiceOptions service_options;
  service_options.region_prefix = config_.region_prefix;
  service_ =
      std::make_unique<EvaluationServiceImpl>(store_.get(), evaluator_.get(), ingest_stub_.get(),
                                              replay_.get(), &clock_, *metrics_, service_options);
  gauges_ = std::make_unique<TargetGauges>(evaluator_.get(), *metrics_, config_.gauges);
  audit_ = std::make_unique<audit::AuditLog>(redis_.get(), store_->prefix(), config_.audit,
                                             metrics_.get());
  audit_service_ = std::make_unique<audit::AuditServiceImpl>(audit_.get(), config_.region_prefix);
  server_ = std::make_unique<Server>(config_.server, metrics_);
  server_->AddService(service_.get(), v1::EvaluationService::service_full_name());
  server_->AddService(audit_service_.get(), audit::v1::AuditService::service_full_name());
  server_->SetAuditSink(audit_.get());
  server_->SetReadinessProbe([this] { return Ready(); });
}

App::~App() {
  Shutdown();
  gauges_->Stop();
  feed_->Stop();
}

absl::Status App::Ready() {
  if (!seeded_.load()) {
    if (!seed_.empty()) {
      std::vector<Target> seed = seed_;
      const absl::Time now = clock_.Now();
      for (Target& t : seed) {
        t.archived = false;
        t.create_time = t.update_time = now;
        t.etag = EtagOfRevision(1);
      }
      auto seeded = store_->Seed(seed);
      if (!seeded.ok()) return seeded.status();
      if (*seeded) {
        log::Info("targets seeded", {log::Field::Int("targets", static_cast<int64_t>(seed.size())),
                                     log::Field::Str("file", config_.targets_file)});
      }
    }
    seeded_.store(true);
  }
  if (absl::Status s = redis_->Ping(); !s.ok()) return s;
  if (!feed_->ready()) {
    return absl::UnavailableError("loading enterprises and columns from the registry and ingest");
  }
  return absl::OkStatus();
}

absl::Status App::Start() {
  if (!config_.targets_file.empty()) {
    auto seed = LoadTargetsFile(config_.targets_file);
    if (!seed.ok()) return seed.status();
    seed_ = *std::move(seed);
  } else {
    log::Warn("no --targets_file: no targets are seeded on first start");
  }
  feed_->Start();
  if (absl::Status s = server_->Start(); !s.ok()) return s;
  gauges_->Start();
  return absl::OkStatus();
}

void App::Shutdown() {
  if (shut_down_.exchange(true)) return;
  // Watch streams end first: otherwise they would hold the drain until its timeout.
  service_->Drain();
  gauges_->Stop();
  server_->Shutdown();
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

}  // namespace iplus::evaluation
