#pragma once

// The audit trail of one service instance: an append-only Redis stream under the
// service's own key prefix ("<prefix>audit", e.g. "iplus:{registry:44}:audit"), capped
// at about max_records entries (XADD MAXLEN ~: the oldest go first), and the
// AuditService that lists it on the service's gRPC port.
//
//   audit::AuditLog log(redis, store.prefix(), {.max_records = n}, metrics);
//   audit::AuditServiceImpl service(&log, region);
//   server.SetAuditSink(&log);
//   server.AddService(&service, audit::v1::AuditService::service_full_name());
//
// Each entry's stream id is its time (the Redis server's clock, milliseconds) and its
// fields are p (principal), r (role), m (method), o (object), c (status code). Records
// are written after the call's status was sent, so a crash in between loses one record;
// a Redis that is unreachable loses records too (logged, and counted in
// iplus_audit_write_failures_total).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/auth_gate.h"
#include "common/metrics/counter.h"
#include "common/redis/client.h"
#include "iplus/audit/v1/audit.grpc.pb.h"

namespace iplus::metrics {
class Registry;
}

namespace iplus::audit {

namespace v1 = ::iplus::audit::v1;

struct AuditOptions {
  int64_t max_records = 1000000;
  // One ListAuditRecords call reads at most this many entries while filtering; it may
  // then return a short page with a token.
  int max_examined_per_page = 10000;
  int default_page_size = 100;
  int max_page_size = 1000;
};

struct AuditQuery {
  absl::Time start = absl::InfinitePast();  // inclusive
  absl::Time end = absl::InfiniteFuture();  // exclusive
  std::string principal;                    // exact; empty: any
  std::string method;                       // full name or the method alone; empty: any
  int page_size = 0;
  std::string page_token;
};

struct AuditPage {
  std::vector<v1::AuditRecord> records;
  std::string next_page_token;
};

class AuditLog : public AuditSink {
 public:
  // `client` (and `metrics`, when not null) must outlive the log. `key_prefix` is the
  // service's prefix, ending in ':'.
  AuditLog(redis::Client* client, const std::string& key_prefix, AuditOptions options,
           metrics::Registry* metrics);

  void Record(const AuditEvent& event) override;

  // Newest first. INVALID_ARGUMENT naming page_size, page_token or end_time.
  absl::StatusOr<AuditPage> List(const AuditQuery& query);

  const std::string& key() const { return key_; }

 private:
  redis::Client* client_;
  const std::string key_;
  const AuditOptions options_;
  metrics::Counter* failures_ = nullptr;
};

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  // `log` must outlive the service. `instance_region` is the instance's region prefix
  // ("" national): a regulator's regions must cover it.
  AuditServiceImpl(AuditLog* log, std::string instance_region);

  grpc::Status ListAuditRecords(grpc::ServerContext* ctx, const v1::ListAuditRecordsRequest* req,
                                v1::ListAuditRecordsResponse* resp) override;

 private:
  AuditLog* log_;
  const std::string instance_region_;
};

}  // namespace iplus::audit
