#pragma once

// The evaluation service's wiring: Redis client, target store, result cache, the
// channels to the registry and ingest, the feed, the evaluator, the gRPC service, the
// target gauges and the server. main.cc fills the config; tests build it in-process.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/audit/audit_log.h"
#include "common/clock/clock.h"
#include "common/grpc/server.h"
#include "common/grpc/service_channel.h"
#include "common/grpc/tls.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/replay/replay_cache.h"
#include "grpcpp/channel.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/evaluation/feed/feed.h"
#include "services/evaluation/grpc/evaluation_service.h"
#include "services/evaluation/grpc/evaluator.h"
#include "services/evaluation/grpc/target_gauges.h"
#include "services/evaluation/store/result_cache.h"
#include "services/evaluation/store/target_store.h"

namespace iplus::evaluation {

struct AppConfig {
  ServerOptions server;
  redis::Options redis;
  // Region prefix this instance serves ("" for national).
  std::string region_prefix;
  // gRPC targets of the registry and of ingest, e.g. "dns:///registry:50051".
  std::string registry_target = "127.0.0.1:50051";
  std::string ingest_target = "127.0.0.1:50052";
  // Transport security of the channels to the registry and ingest: the service's own
  // TLS files (its certificate is the client certificate under mutual TLS). Empty:
  // plaintext.
  TlsFiles peer_tls;
  // The service's own token (role `service` in the registry's and ingest's token files),
  // sent on every call to them; null: calls carry no token.
  std::shared_ptr<ServiceToken> service_token;
  FeedOptions feed;
  // How long a cached result lives.
  absl::Duration cache_ttl = absl::Hours(24);
  TargetGaugesOptions gauges;
  // The targets seeded on first start (deploy/targets.json); empty: none.
  std::string targets_file;
  // The audit stream ("<prefix>audit") and its listing on the gRPC port.
  audit::AuditOptions audit;
};

// The targets of a seed file: a JSON array of v1.Target messages in protobuf's JSON
// mapping (deploy/targets.json). Each must be a valid target (checked without ingest:
// the indicator's type is taken from the aggregation, its granularity from the
// periods). INVALID_ARGUMENT naming the file and the entry otherwise.
absl::StatusOr<std::vector<Target>> LoadTargetsFile(const std::string& path);

// The one place channels to other services are made (TLS from the service's files,
// round-robin over a dns:/// target's addresses, reconnects within about a second),
// carrying `token` (CreateServiceChannel) when it is not null.
std::shared_ptr<grpc::Channel> MakeServiceChannel(const std::string& target, const TlsFiles& tls,
                                                  std::shared_ptr<ServiceToken> token);

class App {
 public:
  explicit App(AppConfig config);
  ~App();

  // Reads the seed file, starts the feed, binds the ports and serves. Redis, the
  // registry and ingest need not be up: health says NOT_SERVING until Redis answers and
  // the feed's initial load has finished. INVALID_ARGUMENT for a bad seed file.
  absl::Status Start();
  // Ends watch streams with UNAVAILABLE, drains the server, stops the feed. Idempotent.
  void Shutdown();
  // Blocks until SIGTERM or SIGINT, then Shutdown(). REQUIRES: BlockTerminationSignals().
  void RunUntilSignal();

  int grpc_port() const { return server_->grpc_port(); }
  int metrics_port() const { return server_->metrics_port(); }
  const std::string& key_prefix() const { return store_->prefix(); }
  Feed& feed() { return *feed_; }

 private:
  absl::Status Ready();

  AppConfig config_;
  std::shared_ptr<metrics::Registry> metrics_;
  RealClock clock_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<TargetStore> store_;
  std::unique_ptr<ResultCache> cache_;
  std::unique_ptr<redis::ReplayCache> replay_;
  std::shared_ptr<grpc::Channel> registry_channel_;
  std::shared_ptr<grpc::Channel> ingest_channel_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_stub_;
  std::unique_ptr<ingest::v1::IngestService::Stub> ingest_stub_;
  std::unique_ptr<Feed> feed_;
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<EvaluationServiceImpl> service_;
  std::unique_ptr<TargetGauges> gauges_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<Server> server_;
  std::vector<Target> seed_;
  std::atomic<bool> seeded_{false};
  std::atomic<bool> shut_down_{false};
};

}  // namespace iplus::evaluation
