// iplus-registry: flags and wiring only. Every flag can also be set through the
// environment as IPLUS_<FLAG> (e.g. IPLUS_REDIS_ADDRESS); the command line wins.
// Secrets never come from flags: the Redis password is read from IPLUS_REDIS_PASSWORD or
// the file named by --redis_password_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "common/grpc/service_flags.h"
#include "common/grpc/service_main.h"
#include "services/registry/app.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051", "host:port for gRPC");
ABSL_FLAG(int64_t, max_events, 1000000, "approximate cap of the change-event stream");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "host:port for the plain-HTTP /metrics endpoint; empty disables it");

int main(int argc, char** argv) {
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus enterprise registry gRPC service");
  auto common = iplus::ConfigureService(
      "registry",
      iplus::CommonFlagValues(absl::GetFlag(FLAGS_grpc_address),
                              absl::GetFlag(FLAGS_metrics_address)),
      unknown, {iplus::log::Field::Int("max_events", absl::GetFlag(FLAGS_max_events))});
  if (!common.ok()) {
    std::cerr << "configuration error: " << common.status().message() << "\n";
    return 2;
  }
  iplus::registry::AppConfig config;
  config.server = common->server;
  config.redis = common->redis;
  config.audit.max_records = common->audit_max_records;
  config.registry.region_prefix = common->region;
  config.store.max_events = absl::GetFlag(FLAGS_max_events);

  iplus::registry::App app(config);
  if (absl::Status s = app.Start(); !s.ok()) {
    iplus::log::Error("cannot start", {iplus::log::Field::Status("error", s)});
    return 1;
  }
  app.RunUntilSignal();
  return 0;
}
