// iplus-funds: flags and wiring only. Every flag can also be set through the environment
// as IPLUS_<FLAG> (e.g. IPLUS_EVALUATION_TARGET, IPLUS_EXPIRE_INTERVAL=2s); the command
// line wins. Secrets never come from flags: the Redis password is read from
// IPLUS_REDIS_PASSWORD or the file named by --redis_password_file, and the token for the
// registry and evaluation from the file named by --service_token_file.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/grpc/service_flags.h"
#include "common/grpc/service_main.h"
#include "services/funds/app.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50054", "host:port for gRPC");
ABSL_FLAG(std::string, registry_target, "127.0.0.1:50051",
          "gRPC target of the registry (beneficiaries), e.g. dns:///registry:50051");
ABSL_FLAG(std::string, evaluation_target, "127.0.0.1:50053",
          "gRPC target of evaluation (milestone conditions), e.g. dns:///evaluation:50053");
ABSL_FLAG(std::string, service_token_file, "",
          "file holding this service's bearer token (role service) for its calls to the "
          "registry and evaluation; re-read when it changes");
ABSL_FLAG(absl::Duration, evaluation_deadline, absl::Seconds(5),
          "longest wait for evaluation's check of a milestone condition (and for the "
          "registry's answer about a beneficiary), e.g. 5s");
ABSL_FLAG(absl::Duration, expire_interval, absl::Seconds(1),
          "how often pending commitments past their timeout are voided, e.g. 1s");
ABSL_FLAG(bool, allow_non_durable_redis, false,
          "accept a Redis without appendonly yes and appendfsync always (tests and local "
          "runs only: acknowledged transfers can be lost in a crash; logged as a warning)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9467",
          "host:port for the plain-HTTP /metrics endpoint; empty disables it");

int main(int argc, char** argv) {
  auto unknown = iplus::ParseServiceFlags(argc, argv, "iplus fund management gRPC service");
  auto common = iplus::ConfigureService(
      "funds",
      iplus::CommonFlagValues(absl::GetFlag(FLAGS_grpc_address),
                              absl::GetFlag(FLAGS_metrics_address)),
      unknown,
      {iplus::log::Field::Str("registry_target", absl::GetFlag(FLAGS_registry_target)),
       iplus::log::Field::Str("evaluation_target", absl::GetFlag(FLAGS_evaluation_target)),
       iplus::log::Field::Str("evaluation_deadline",
                              absl::FormatDuration(absl::GetFlag(FLAGS_evaluation_deadline))),
       iplus::log::Field::Str("expire_interval",
                              absl::FormatDuration(absl::GetFlag(FLAGS_expire_interval))),
       iplus::log::Field::Bool("allow_non_durable_redis",
                               absl::GetFlag(FLAGS_allow_non_durable_redis)),
       iplus::log::Field::Str("service_token_file", absl::GetFlag(FLAGS_service_token_file))});
  if (!common.ok()) {
    std::cerr << "configuration error: " << common.status().message() << "\n";
    return 2;
  }
  const absl::Duration deadline = absl::GetFlag(FLAGS_evaluation_deadline);
  const absl::Duration expire = absl::GetFlag(FLAGS_expire_interval);
  if (deadline <= absl::ZeroDuration() || expire <= absl::ZeroDuration()) {
    std::cerr << "configuration error: --evaluation_deadline and --expire_interval must be "
                 "positive\n";
    return 2;
  }
  iplus::funds::AppConfig config;
  config.server = common->server;
  config.redis = common->redis;
  config.region_prefix = common->region;
  config.registry_target = absl::GetFlag(FLAGS_registry_target);
  config.evaluation_target = absl::GetFlag(FLAGS_evaluation_target);
  config.peer_tls = common->tls;
  config.audit.max_records = common->audit_max_records;
  config.evaluation_deadline = deadline;
  config.registry_deadline = deadline;
  config.expire_interval = expire;
  config.allow_non_durable_redis = absl::GetFlag(FLAGS_allow_non_durable_redis);
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
        "no --service_token_file: calls to the registry and evaluation carry no token, which "
        "services with authentication refuse");
  }

  iplus::funds::App app(config);
  if (absl::Status s = app.Start(); !s.ok()) {
    iplus::log::Error("cannot start", {iplus::log::Field::Status("error", s)});
    return 1;
  }
  app.RunUntilSignal();
  return 0;
}
