#pragma once

// The funds service's wiring: Redis client, the ledger (RedisLedger), the fund catalog
// and project locks, the channels to the registry and to evaluation, the gRPC service,
// the background expiry and journal gauges, the audit trail and the server. main.cc
// fills the config; tests build it in-process.
//
// Durability: Start() calls CheckDurability. A Redis that answers without appendonly yes
// and appendfsync always is refused (FAILED_PRECONDITION, logged) unless
// allow_non_durable_redis (logged as a warning). A Redis that does not answer yet is
// checked by the readiness probe once it does; until then health is NOT_SERVING and
// every mutation is UNAVAILABLE. The check is repeated every durability_recheck, so a
// Redis restarted without its append-only file is noticed.

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
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
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/funds/catalog/catalog.h"
#include "services/funds/grpc/funds_service.h"
#include "services/funds/grpc/ledger_maintenance.h"
#include "services/funds/store/redis_ledger.h"

namespace iplus::funds {

struct AppConfig {
  ServerOptions server;
  redis::Options redis;
  // Region prefix this instance serves ("" for national); part of every key.
  std::string region_prefix;
  // gRPC targets of the registry (beneficiaries) and of evaluation (milestone
  // conditions), e.g. "dns:///registry:50051".
  std::string registry_target = "127.0.0.1:50051";
  std::string evaluation_target = "127.0.0.1:50053";
  // Transport security of the channels to them: the service's own TLS files (its
  // certificate is the client certificate under mutual TLS). Empty: plaintext.
  TlsFiles peer_tls;
  // The service's own token (role `service` in their token files); null: no token.
  std::shared_ptr<ServiceToken> service_token;
  // Longest wait for EvaluationService.CheckEnterprise and RegistryService.GetEnterprise.
  absl::Duration evaluation_deadline = absl::Seconds(5);
  absl::Duration registry_deadline = absl::Seconds(5);
  // How often pending transfers past their timeout are expired.
  absl::Duration expire_interval = absl::Seconds(1);
  // Accept a Redis that does not fsync every write (tests, local runs): logged as a
  // warning; acknowledged transfers can then be lost in a crash.
  bool allow_non_durable_redis = false;
  absl::Duration durability_recheck = absl::Seconds(10);
  RedisLedgerOptions ledger;
  // The audit stream ("<prefix>audit") and its listing on the gRPC port.
  audit::AuditOptions audit;
};

class App {
 public:
  explicit App(AppConfig config);
  ~App();

  // Checks Redis's durability (see above), binds the ports, starts serving and the
  // background expiry. FAILED_PRECONDITION for a Redis that is not durable.
  absl::Status Start();
  // Drains the server and stops the background work. Idempotent.
  void Shutdown();
  // Blocks until SIGTERM or SIGINT, then Shutdown(). REQUIRES: BlockTerminationSignals().
  void RunUntilSignal();

  int grpc_port() const { return server_->grpc_port(); }
  int metrics_port() const { return server_->metrics_port(); }
  const std::string& key_prefix() const { return ledger_->prefix(); }
  RedisLedger& ledger() { return *ledger_; }
  LedgerMaintenance& maintenance() { return *maintenance_; }

 private:
  absl::Status Ready();
  // OK once Redis was found durable (or the override applies).
  absl::Status Writable() const;
  // Runs CheckDurability and records the outcome.
  absl::Status CheckDurabilityNow();

  AppConfig config_;
  std::shared_ptr<metrics::Registry> metrics_;
  RealClock clock_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<RedisLedger> ledger_;
  std::unique_ptr<FundCatalog> catalog_;
  std::unique_ptr<ProjectLocks> locks_;
  std::unique_ptr<redis::ReplayCache> replay_;
  std::shared_ptr<grpc::Channel> registry_channel_;
  std::shared_ptr<grpc::Channel> evaluation_channel_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_stub_;
  std::unique_ptr<evaluation::v1::EvaluationService::Stub> evaluation_stub_;
  std::unique_ptr<FundsServiceImpl> service_;
  std::unique_ptr<LedgerMaintenance> maintenance_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> durable_{false};
  mutable absl::Mutex check_mu_;
  absl::Time next_check_ ABSL_GUARDED_BY(check_mu_) = absl::InfinitePast();
  std::atomic<bool> shut_down_{false};
};

}  // namespace iplus::funds
