// iplus-registry: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_REDIS_ADDRESS); the command line wins.
// Secrets never come from flags: the Redis password is read from IPLUS_REDIS_PASSWORD or
// the file named by --redis_password_file.

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config/config.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "common/refdata/region.h"
#include "services/registry/app.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051", "host:port for gRPC");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
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
ABSL_FLAG(int64_t, max_events, 1000000, "approximate cap of the change-event stream");
ABSL_FLAG(int, drain_timeout_s, 10, "seconds in-flight calls may take to finish on SIGTERM");
ABSL_FLAG(int, probe_interval_ms, 250, "how often readiness pings Redis");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

int main(int argc, char** argv) {
  iplus::BlockTerminationSignals();
  absl::SetProgramUsageMessage("iplus enterprise registry gRPC service");
  auto unknown = iplus::config::ApplyEnvironment("IPLUS_", {"IPLUS_REDIS_PASSWORD"});
  if (!unknown.ok()) {
    std::cerr << "configuration error: " << unknown.status().message() << "\n";
    return 2;
  }
  absl::ParseCommandLine(argc, argv);

  auto level = iplus::log::ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    std::cerr << "--log_level: " << level.status().message() << "\n";
    return 2;
  }
  iplus::log::Init("registry", *level);

  iplus::registry::AppConfig config;
  config.server.service_name = "registry";
  config.server.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  config.server.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  config.server.drain_timeout = absl::Seconds(absl::GetFlag(FLAGS_drain_timeout_s));
  config.server.probe_interval = absl::Milliseconds(absl::GetFlag(FLAGS_probe_interval_ms));

  auto redis = iplus::redis::ParseAddress(absl::GetFlag(FLAGS_redis_address));
  if (!redis.ok()) {
    iplus::log::Error("bad --redis_address", {iplus::log::Field::Status("error", redis.status())});
    return 2;
  }
  config.redis = *redis;
  config.redis.username = absl::GetFlag(FLAGS_redis_user);
  auto password =
      iplus::config::ReadSecret("IPLUS_REDIS_PASSWORD", absl::GetFlag(FLAGS_redis_password_file));
  if (!password.ok()) {
    iplus::log::Error("cannot read the Redis password",
                      {iplus::log::Field::Status("error", password.status())});
    return 2;
  }
  config.redis.password = *password;
  config.redis.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  config.redis.command_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_redis_timeout_ms));
  config.redis.connect_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_redis_connect_timeout_ms));

  config.registry.region_prefix = absl::GetFlag(FLAGS_region);
  if (absl::Status s = iplus::refdata::ValidateRegionPrefix(config.registry.region_prefix);
      !s.ok()) {
    iplus::log::Error("bad --region", {iplus::log::Field::Status("error", s)});
    return 2;
  }
  config.store.max_events = absl::GetFlag(FLAGS_max_events);

  iplus::log::Info("starting",
                   {iplus::log::Field::Str("grpc_address", config.server.grpc_address),
                    iplus::log::Field::Str("metrics_address", config.server.metrics_address),
                    iplus::log::Field::Str("redis_address", absl::GetFlag(FLAGS_redis_address)),
                    iplus::log::Field::Bool("redis_auth", !config.redis.password.empty()),
                    iplus::log::Field::Str("region", config.registry.region_prefix)});
  for (const auto& name : *unknown) {
    iplus::log::Debug("environment variable is not a flag of this binary",
                      {iplus::log::Field::Str("name", name)});
  }

  iplus::registry::App app(config);
  if (absl::Status s = app.Start(); !s.ok()) {
    iplus::log::Error("cannot start", {iplus::log::Field::Status("error", s)});
    return 1;
  }
  app.RunUntilSignal();
  return 0;
}
