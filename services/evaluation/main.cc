// iplus-evaluation: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_INGEST_TARGET, IPLUS_TARGETS_FILE); the command
// line wins. Secrets never come from flags: the Redis password is read from
// IPLUS_REDIS_PASSWORD or the file named by --redis_password_file, and the token for the
// registry and ingest from the file named by --service_token_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "common/grpc/service_flags.h"
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

int main(int argc, char** argv) {
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus target evaluation gRPC service");
  auto common = iplus::ConfigureService(
      "evaluation",
      iplus::CommonFlagValues(absl::GetFlag(FLAGS_grpc_address),
                              absl::GetFlag(FLAGS_metrics_address)),
      unknown,
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
