// iplus-ingest: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_REGISTRY_TARGET); the command line wins.
// Secrets never come from flags: the Redis password is read from IPLUS_REDIS_PASSWORD or
// the file named by --redis_password_file, and the token for the registry from the file
// named by --service_token_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "common/grpc/service_flags.h"
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

int main(int argc, char** argv) {
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus metric ingestion gRPC service");
  auto common = iplus::ConfigureService(
      "ingest",
      iplus::CommonFlagValues(absl::GetFlag(FLAGS_grpc_address),
                              absl::GetFlag(FLAGS_metrics_address)),
      unknown,
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
