// iplus-evaluation: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_INGEST_TARGET, IPLUS_TARGETS_FILE); the command
// line wins. Secrets never come from flags: the Redis password is read from
// IPLUS_REDIS_PASSWORD or the file named by --redis_password_file, and the token for the
// registry and ingest from the file named by --service_token_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "common/grpc/service_main.h"
#include "services/evaluation/app.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50053", "host:port for gRPC");
ABSL_FLAG(std::string, registry_target, "127.0.0.1:50051",
          "gRPC target of the registry, e.g. dns:///registry:50051");
ABSL_FLAG(std::string, ingest_target, "127.0.0.1:50052",
          "gRPC target of ingest, e.g. dns:///ingest:50052");
ABSL_FLAG(std::string, service_token_file, "",
          "file holding this service's bearer token (role service) for its calls to the "
          "registry and ingest; re-read when it changes");
ABSL_FLAG(std::string, targets_file, "",
          "JSON array of the targets seeded on first start (deploy/targets.json); empty "
          "seeds nothing");
ABSL_FLAG(int, poll_interval_ms, 100,
          "how often the feed reads registry events, ingest changes and target changes");
ABSL_FLAG(int, cache_ttl_s, 86400, "how long a cached result lives in Redis, in seconds");
ABSL_FLAG(int, gauge_interval_s, 30,
          "how often the iplus_target_* gauges are refreshed (also soon after data changes)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9466",
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
ABSL_FLAG(int, probe_interval_ms, 250, "how often readiness checks Redis and the feed");
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
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus target evaluation gRPC service");
  auto common = iplus::ConfigureService(
      "evaluation", CommonFlagValues(), unknown,
      {iplus::log::Field::Str("registry_target", absl::GetFlag(FLAGS_registry_target)),
       iplus::log::Field::Str("ingest_target", absl::GetFlag(FLAGS_ingest_target)),
       iplus::log::Field::Str("targets_file", absl::GetFlag(FLAGS_targets_file)),
       iplus::log::Field::Str("service_token_file", absl::GetFlag(FLAGS_service_token_file))});
  if (!common.ok()) {
    std::cerr << "configuration error: " << common.status().message() << "\n";
    return 2;
  }
  const int poll_ms = absl::GetFlag(FLAGS_poll_interval_ms);
  const int ttl_s = absl::GetFlag(FLAGS_cache_ttl_s);
  const int gauge_s = absl::GetFlag(FLAGS_gauge_interval_s);
  if (poll_ms < 1 || ttl_s < 1 || gauge_s < 1) {
    std::cerr << "configuration error: --poll_interval_ms, --cache_ttl_s and "
                 "--gauge_interval_s must be positive\n";
    return 2;
  }
  iplus::evaluation::AppConfig config;
  config.server = common->server;
  config.redis = common->redis;
  config.region_prefix = common->region;
  config.registry_target = absl::GetFlag(FLAGS_registry_target);
  config.ingest_target = absl::GetFlag(FLAGS_ingest_target);
  config.peer_tls = common->tls;
  config.audit.max_records = common->audit_max_records;
  if (const std::string path = absl::GetFlag(FLAGS_service_token_file); !path.empty()) {
    auto token = iplus::ServiceToken::Load(path);
    if (!token.ok()) {
      std::cerr << "configuration error: --service_token_file: " << token.status().message()
                << "\n";
      return 2;
    }
    config.service_token = *token;
  } else {
    iplus::log::Warn(
        "no --service_token_file: calls to the registry and ingest carry no token, which "
        "services with authentication refuse");
  }
  config.feed.poll_interval = absl::Milliseconds(poll_ms);
  config.cache_ttl = absl::Seconds(ttl_s);
  config.gauges.interval = absl::Seconds(gauge_s);
  config.targets_file = absl::GetFlag(FLAGS_targets_file);

  iplus::evaluation::App app(config);
  if (absl::Status s = app.Start(); !s.ok()) {
    iplus::log::Error("cannot start", {iplus::log::Field::Status("error", s)});
    return 1;
  }
  app.RunUntilSignal();
  return 0;
}
