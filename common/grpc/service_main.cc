#include "common/grpc/service_main.h"

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/auth/rate_limit.h"
#include "common/config/config.h"
#include "common/refdata/region.h"
#include "common/status/status.h"

namespace iplus {

std::vector<std::string> ParseServiceFlags(int argc, char** argv, const char* usage) {
  BlockTerminationSignals();
  absl::SetProgramUsageMessage(usage);
  auto unknown = config::ApplyEnvironment("IPLUS_", {"IPLUS_REDIS_PASSWORD"});
  if (!unknown.ok()) {
    std::cerr << "configuration error: " << unknown.status().message() << "\n";
    std::exit(2);
  }
  absl::ParseCommandLine(argc, argv);
  return *unknown;
}

namespace {

// TLS from the certificate files, or plaintext only when --plaintext asks for it.
absl::Status ConfigureTransport(const CommonFlags& flags, CommonConfig* c) {
  TlsFiles tls;
  tls.cert_file = flags.tls_cert_file;
  tls.key_file = flags.tls_key_file;
  tls.ca_file = flags.tls_ca_file;
  tls.require_client_cert = flags.tls_require_client_cert;
  const bool any_tls_flag = tls.enabled() || !tls.ca_file.empty() || tls.require_client_cert;
  if (flags.plaintext) {
    if (any_tls_flag) {
      return InvalidField("--plaintext", "conflicts with the --tls_ flags; pass one or the other");
    }
    c->server.credentials = nullptr;
    return absl::OkStatus();
  }
  if (!tls.enabled()) {
    if (!tls.ca_file.empty() || tls.require_client_cert) {
      return InvalidField("--tls_cert_file", "must be set together with --tls_key_file");
    }
    return InvalidField("--tls_cert_file",
                        "no TLS certificate: pass --tls_cert_file and --tls_key_file (and "
                        "--tls_ca_file for mutual TLS), or --plaintext to serve without TLS");
  }
  if (absl::Status s = ValidateTlsFiles(tls); !s.ok()) return s;
  c->server.credentials = ServerCredentialsFor(tls);
  c->tls = std::move(tls);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommonConfig> ConfigureService(const char* service, const CommonFlags& flags,
                                              const std::vector<std::string>& unknown_env,
                                              std::initializer_list<log::Field> extra) {
  auto level = log::ParseLevel(flags.log_level);
  if (!level.ok()) return InvalidField("--log_level", level.status().message());
  log::Init(service, *level);

  CommonConfig c;
  c.server.service_name = service;
  c.server.grpc_address = flags.grpc_address;
  c.server.metrics_address = flags.metrics_address;
  if (flags.drain_timeout_s < 0) return InvalidField("--drain_timeout_s", "must not be negative");
  c.server.drain_timeout = absl::Seconds(flags.drain_timeout_s);
  if (flags.probe_interval_ms < 10)
    return InvalidField("--probe_interval_ms", "must be at least 10");
  c.server.probe_interval = absl::Milliseconds(flags.probe_interval_ms);

  auto redis = redis::ParseAddress(flags.redis_address);
  if (!redis.ok()) return InvalidField("--redis_address", redis.status().message());
  c.redis = *redis;
  c.redis.username = flags.redis_user;
  auto password = config::ReadSecret("IPLUS_REDIS_PASSWORD", flags.redis_password_file);
  if (!password.ok()) return InvalidField("--redis_password_file", password.status().message());
  c.redis.password = *password;
  if (flags.redis_pool_size < 1) return InvalidField("--redis_pool_size", "must be at least 1");
  c.redis.pool_size = flags.redis_pool_size;
  if (flags.redis_timeout_ms < 1) return InvalidField("--redis_timeout_ms", "must be positive");
  c.redis.command_timeout = absl::Milliseconds(flags.redis_timeout_ms);
  if (flags.redis_connect_timeout_ms < 1) {
    return InvalidField("--redis_connect_timeout_ms", "must be positive");
  }
  c.redis.connect_timeout = absl::Milliseconds(flags.redis_connect_timeout_ms);

  if (absl::Status s = refdata::ValidateRegionPrefix(flags.region); !s.ok()) {
    return InvalidField("--region", s.message());
  }
  c.region = flags.region;

  if (absl::Status s = ConfigureTransport(flags, &c); !s.ok()) return s;

  if (flags.token_file.empty() && !flags.allow_unauthenticated) {
    return InvalidField("--token_file",
                        "no token file: pass --token_file (IPLUS_TOKEN_FILE) with the callers' "
                        "bearer tokens, or --allow_unauthenticated to serve every caller as an "
                        "anonymous admin (local use only)");
  }
  if (!flags.token_file.empty() && flags.allow_unauthenticated) {
    return InvalidField("--allow_unauthenticated",
                        "conflicts with --token_file; pass one or the other");
  }
  c.server.auth.token_file = flags.token_file;
  c.server.auth.allow_unauthenticated = flags.allow_unauthenticated;
  auto limits = auth::ParseRateLimits(flags.rate_limits, auth::DefaultRateLimits());
  if (!limits.ok()) return InvalidField("--rate_limits", limits.status().message());
  c.server.auth.rate_limits = *limits;
  if (flags.audit_max_records < 1) {
    return InvalidField("--audit_max_records", "must be at least 1");
  }
  c.audit_max_records = flags.audit_max_records;

  std::vector<log::Field> fields = {log::Field::Str("grpc_address", flags.grpc_address),
                                    log::Field::Str("metrics_address", flags.metrics_address),
                                    log::Field::Str("redis_address", flags.redis_address),
                                    log::Field::Bool("redis_auth", !c.redis.password.empty()),
                                    log::Field::Str("region", flags.region),
                                    log::Field::Bool("tls", c.tls.enabled()),
                                    log::Field::Bool("mutual_tls", c.tls.require_client_cert),
                                    log::Field::Bool("authentication", !flags.token_file.empty()),
                                    log::Field::Str("rate_limits", auth::FormatRateLimits(*limits)),
                                    log::Field::Int("audit_max_records", c.audit_max_records)};
  // The token file's path only, never its content.
  if (!flags.token_file.empty()) fields.push_back(log::Field::Str("token_file", flags.token_file));
  // Paths only, never the files' contents.
  if (c.tls.enabled()) {
    fields.push_back(log::Field::Str("tls_cert_file", c.tls.cert_file));
    fields.push_back(log::Field::Str("tls_key_file", c.tls.key_file));
  }
  if (!c.tls.ca_file.empty()) fields.push_back(log::Field::Str("tls_ca_file", c.tls.ca_file));
  fields.insert(fields.end(), extra.begin(), extra.end());
  log::Write(log::Level::kInfo, "starting", fields);
  if (!c.tls.enabled()) {
    log::Warn("serving plaintext gRPC (--plaintext): no transport security; for local use only",
              {log::Field::Str("grpc_address", flags.grpc_address)});
  }
  for (const auto& name : unknown_env) {
    log::Debug("environment variable is not a flag of this binary",
               {log::Field::Str("name", name)});
  }
  return c;
}

}  // namespace iplus
