#include "common/grpc/service_flags.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/flags/flag.h"

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
ABSL_FLAG(int, probe_interval_ms, 250,
          "how often the readiness probe runs (Redis, and what else the service waits for)");
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

namespace iplus {

CommonFlags CommonFlagValues(std::string grpc_address, std::string metrics_address) {
  CommonFlags f;
  f.grpc_address = std::move(grpc_address);
  f.metrics_address = std::move(metrics_address);
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

}  // namespace iplus
