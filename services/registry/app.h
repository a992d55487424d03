#pragma once

// The registry's wiring: Redis client, store, domain core, gRPC service and server.
// main.cc fills the config from flags; end-to-end tests build it in-process.

#include <memory>

#include "absl/status/status.h"
#include "common/audit/audit_log.h"
#include "common/clock/clock.h"
#include "common/grpc/server.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/replay/replay_cache.h"
#include "services/registry/domain/registry.h"
#include "services/registry/grpc/registry_service.h"
#include "services/registry/store/redis_store.h"

namespace iplus::registry {

struct AppConfig {
  ServerOptions server;
  redis::Options redis;
  RegistryConfig registry;
  RedisStoreOptions store;
  // The audit stream ("<prefix>audit") and its listing on the gRPC port.
  audit::AuditOptions audit;
};

class App {
 public:
  explicit App(AppConfig config);
  ~App();

  // Binds the ports and serves. Redis need not be up: health says NOT_SERVING until it is.
  absl::Status Start();
  void Shutdown();
  void RunUntilSignal();

  int grpc_port() const { return server_->grpc_port(); }
  int metrics_port() const { return server_->metrics_port(); }

 private:
  AppConfig config_;
  std::shared_ptr<metrics::Registry> metrics_;
  RealClock clock_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<redis::ReplayCache> replay_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<RegistryServiceImpl> service_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<Server> server_;
};

}  // namespace iplus::registry
