#pragma once

// The ingestion service's wiring: Redis client, store, registry-backed directory, domain
// core, gRPC service and server. main.cc fills the config; tests build it in-process.

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/audit/audit_log.h"
#include "common/clock/clock.h"
#include "common/grpc/server.h"
#include "common/grpc/service_channel.h"
#include "common/grpc/tls.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/replay/replay_cache.h"
#include "grpcpp/channel.h"
#include "services/ingest/directory/registry_directory.h"
#include "services/ingest/domain/ingest.h"
#include "services/ingest/grpc/ingest_service.h"
#include "services/ingest/store/redis_store.h"

namespace iplus::ingest {

struct AppConfig {
  ServerOptions server;
  redis::Options redis;
  RedisStoreOptions store;
  IngestConfig ingest;
  RegistryDirectoryOptions directory;
  // gRPC target of the registry, e.g. "127.0.0.1:50051" or "dns:///registry:50051".
  std::string registry_target = "127.0.0.1:50051";
  // Transport security of the channel to the registry: the service's own TLS files
  // (its certificate is the client certificate under mutual TLS). Empty: plaintext.
  TlsFiles registry_tls;
  // The service's own token (role `service` in the registry's token file), sent on every
  // call to the registry; null: calls carry no token.
  std::shared_ptr<ServiceToken> registry_token;
  int peer_sample_size = 512;
  // The audit stream ("<prefix>audit") and its listing on the gRPC port.
  audit::AuditOptions audit;
};

class App {
 public:
  explicit App(AppConfig config);
  ~App();

  // Binds the ports and serves. Redis and the registry need not be up: health says
  // NOT_SERVING until Redis answers and the catalogue is in place.
  absl::Status Start();
  void Shutdown();
  void RunUntilSignal();

  int grpc_port() const { return server_->grpc_port(); }
  int metrics_port() const { return server_->metrics_port(); }
  const std::string& key_prefix() const { return store_->prefix(); }
  // The registry version the enterprise cache has caught up with.
  int64_t directory_version() const { return directory_->version(); }

 private:
  absl::Status Ready();
  void WarnAboutEncoding();

  AppConfig config_;
  std::shared_ptr<metrics::Registry> metrics_;
  RealClock clock_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<redis::ReplayCache> replay_;
  std::shared_ptr<grpc::Channel> registry_channel_;
  std::unique_ptr<RegistryDirectory> directory_;
  std::unique_ptr<PeerStats> peers_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<IngestServiceImpl> service_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> catalogue_ready_{false};
};

}  // namespace iplus::ingest
