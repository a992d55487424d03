// iplus-ingest: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_REGISTRY_TARGET); the command line wins.
// Secrets never come from flags: the Redis password is read from IPLUS_REDIS_PASSWORD or
// the file named by --redis_password_file, and the token for the registry from the file
// named by --service_token_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "common/grpc/service_main.h"
#include "services/ingest/app.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50052", "host:port for gRPC");
ABSL_FLAG(std::string, registry_target, "127.0.0.1:50051",
          "gRPC target of the registry, e.g. dns:///registry:50051");
ABSL_FLAG(std::string, service_token_file, "",
          "file holding this service's bearer token (role service) for its calls to the "
          "registry; re-read when it changes");
ABSL_FLAG(int64_t, max_changes, 1000000, "approximate cap of the change stream");
ABSL_FLAG(int, max_batch, 5000, "most observations in one batch");
ABSL_FLAG(int, series_buckets, 4096, "hash buckets for series (fixed once data exists)");
ABSL_FLAG(int, column_buckets, 1024,
          "hash buckets per indicator-period column (fixed once data exists)");
ABSL_FLAG(int, report_buckets, 16384, "hash buckets for report ids (fixed once data exists)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9465",
          "host:port for the plain-HTTP /metrics endpoint; empty disables it");
ABSL_FLAG(std::string, redis_address, "127.0.0.1:6379", "Redis host:port");
ABSL_FLAG(std::string, redis_user, "", "Redis ACL user name (empty: default user)");
ABSL_FLAG(std::string, redis_password_file, "",
          "file holding the Redis password (IPLUS_REDIS_PASSWORD takes precedence)");
ABSL_FLAG(int, redis_pool_size, 16, "Redis connections in the pool");
ABSL_FLAG(int, redis_timeout_ms, 1000, "Redis command timeout in milliseconds");
ABSL_FLAG(int, redis_connect_timeout_ms, 200, "Redis connect timeout in milliseconds");
ABSL_FLAG(std::string, region, "",
          "region prefix this instance serves, e.g. 44 or 4401; empty for national");
ABSL_FLAG(int, drain_timeout_s, 10, "seconds in-flight calls may take to finish on SIGTERM");
ABSL_FLAG(int, probe_interval_ms, 250, "how often readiness checks Redis");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain this service presents (gRPC port and calls to other services)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA bundle verifying client certificates and the services this one calls");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "mutual TLS: clients must present a certificate issued by --tls_ca_file");
ABSL_FLAG(bool, plaintext, false, "serve and call without TLS (local use only)");
ABSL_FLAG(std::string, token_file, "",
          "file of SHA-256 hashes of the callers' bearer tokens with their principals, roles "
          "and regions (docs/security.md); reloaded when it changes");
ABSL_FLAG(bool, allow_unauthenticated, false,
          "without --token_file: serve every caller as an anonymous admin (local use only)");
ABSL_FLAG(std::string, rate_limits, "",
          "per-role rate limit overrides, role=calls_per_second:burst,... (0: unlimited); "
          "defaults admin=200:400,regulator=50:100,fund_manager=50:100,partner=100:200,"
          "viewer=20:40,service=0");
ABSL_FLAG(int64_t, audit_max_records, 1000000,
          "approximate cap of the audit stream (the oldest records are trimmed)");

namespace {

iplus::CommonFlags CommonFlagValues() {
  iplus::CommonFlags f;
  f.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  f.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  f.redis_address = absl::GetFlag(FLAGS_redis_address);
  f.redis_user = absl::GetFlag(FLAGS_redis_user);
  f.redis_password_file = absl::GetFlag(FLAGS_redis_password_file);
  f.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  f.redis_timeout_ms = absl::GetFlag(FLAGS_redis_timeout_ms);
  f.redis_connect_timeout_ms = absl::GetFlag(FLAGS_redis_connect_timeout_ms);
  f.region = absl::GetFlag(FLAGS_region);
  f.drain_timeout_s = absl::GetFlag(FLAGS_drain_timeout_s);
  f.probe_interval_ms = absl::GetFlag(FLAGS_probe_interval_ms);
  f.log_level = absl::GetFlag(FLAGS_log_level);
  f.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  f.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  f.tls_ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  f.tls_require_client_cert = absl::GetFlag(FLAGS_tls_require_client_cert);
  f.plaintext = absl::GetFlag(FLAGS_plaintext);
  f.token_file = absl::GetFlag(FLAGS_token_file);
  f.allow_unauthenticated = absl::GetFlag(FLAGS_allow_unauthenticated);
  f.rate_limits = absl::GetFlag(FLAGS_rate_limits);
  f.audit_max_records = absl::GetFlag(FLAGS_audit_max_records);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus metric ingestion gRPC service");
  auto common = iplus::ConfigureService(
      "ingest", CommonFlagValues(), unknown,
      {iplus::log::Field::Str("registry_target", absl::GetFlag(FLAGS_registry_target)),
       iplus::log::Field::Str("service_token_file", absl::GetFlag(FLAGS_service_token_file))});
  if (!common.ok()) {
    std::cerr << "configuration error: " << common.status().message() << "\n";
    return 2;
  }
  iplus::ingest::AppConfig config;
  config.server = common->server;
  config.redis = common->redis;
  config.audit.max_records = common->audit_max_records;
  config.store.region_prefix = common->region;
  config.store.max_changes = absl::GetFlag(FLAGS_max_changes);
  config.store.series_buckets = absl::GetFlag(FLAGS_series_buckets);
  config.store.column_buckets = absl::GetFlag(FLAGS_column_buckets);
  config.store.report_buckets = absl::GetFlag(FLAGS_report_buckets);
  config.ingest.max_batch = absl::GetFlag(FLAGS_max_batch);
  config.registry_target = absl::GetFlag(FLAGS_registry_target);
  config.registry_tls = common->tls;
  if (const std::string path = absl::GetFlag(FLAGS_service_token_file); !path.empty()) {
    auto token = iplus::ServiceToken::Load(path);
    if (!token.ok()) {
      std::cerr << "configuration error: --service_token_file: " << token.status().message()
                << "\n";
      return 2;
    }
    config.registry_token = *token;
  } else {
    iplus::log::Warn(
        "no --service_token_file: calls to the registry carry no token, which a registry "
        "with authentication refuses");
  }
  if (config.store.series_buckets < 1 || config.store.column_buckets < 1 ||
      config.store.report_buckets < 1 || config.ingest.max_batch < 1) {
    std::cerr << "configuration error: bucket counts and --max_batch must be positive\n";
    return 2;
  }

  iplus::ingest::App app(config);
  if (absl::Status s = app.Start(); !s.ok()) {
    iplus::log::Error("cannot start", {iplus::log::Field::Status("error", s)});
    return 1;
  }
  app.RunUntilSignal();
  return 0;
}
