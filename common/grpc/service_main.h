#pragma once

// What every service's main.cc does besides its own flags: environment → flags, the
// common flag values → ServerOptions and redis::Options (with the password secret), the
// log, and one startup line. The shared flags are defined in service_flags.h.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/grpc/server.h"
#include "common/grpc/tls.h"
#include "common/log/log.h"
#include "common/redis/options.h"

namespace iplus {

// Blocks termination signals, applies IPLUS_<FLAG> environment variables, then parses
// the command line (which wins). Exits with status 2 on a bad variable. Returns the
// IPLUS_ variables that name no flag of this binary.
std::vector<std::string> ParseServiceFlags(int argc, char** argv, const char* usage);

// The values of the flags every service has.
struct CommonFlags {
  std::string grpc_address;
  std::string metrics_address;
  std::string redis_address;
  std::string redis_user;
  std::string redis_password_file;
  int redis_pool_size = 16;
  int redis_timeout_ms = 1000;
  int redis_connect_timeout_ms = 200;
  std::string region;
  int drain_timeout_s = 10;
  int probe_interval_ms = 250;
  std::string log_level = "info";
  // Transport security: a certificate and key (TLS), or plaintext only when asked for.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;
  bool tls_require_client_cert = false;
  bool plaintext = false;
  // Authentication: a token file, or explicitly none (anonymous admin, local use only).
  std::string token_file;
  bool allow_unauthenticated = false;
  // Per-role rate limit overrides, "role=rate:burst,..." (common/auth/rate_limit.h).
  std::string rate_limits;
  // Cap of the service's audit stream (approximate, oldest records trimmed).
  int64_t audit_max_records = 1000000;
};

struct CommonConfig {
  ServerOptions server;
  redis::Options redis;
  std::string region;
  // The TLS files (empty with --plaintext): server.credentials is built from them, and
  // channels to other services use ChannelCredentialsFor(tls).
  TlsFiles tls;
  int64_t audit_max_records = 1000000;
};

// Validates the common flags (INVALID_ARGUMENT naming the flag), starts the log for
// `service`, reads the Redis password (IPLUS_REDIS_PASSWORD or --redis_password_file) and
// logs the startup line with `extra` fields (never secrets). TLS needs --tls_cert_file and
// --tls_key_file; without them the service runs plaintext only with --plaintext (logged
// as a warning), and otherwise this is a configuration error. Likewise authentication
// needs --token_file, or --allow_unauthenticated (not both).
absl::StatusOr<CommonConfig> ConfigureService(const char* service, const CommonFlags& flags,
                                              const std::vector<std::string>& unknown_env,
                                              std::initializer_list<log::Field> extra = {});

}  // namespace iplus
