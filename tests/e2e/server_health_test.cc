// The health service of the common server bootstrap while the readiness probe fails: it
// must answer NOT_SERVING, for the server as a whole ("") and for the service's name,
// from the first call the port accepts — also while the first probe is still running
// (a service whose first readiness check takes a while, like evaluation's) — and
// SERVING only once a probe has passed. Also the evaluation App with its feed unable to
// load (no registry, no ingest): NOT_SERVING from its start.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/server.h"
#include "common/metrics/registry.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/evaluation/app.h"
#include "tests/e2e/registry_e2e_util.h"

namespace iplus {
namespace {

using ::iplus::registry::e2e::CheckHealth;
using ::iplus::registry::e2e::HealthStatus;
using ::iplus::registry::e2e::HealthStatusName;

constexpr char kName[] = "iplus.registry.v1.RegistryService";

std::shared_ptr<grpc::Channel> Dial(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

// Polls Health/Check("") until the server answers (the port is up) or `timeout`; the
// first answer.
HealthStatus FirstAnswer(grpc::Channel* channel, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    grpc::Status call;
    HealthStatus s = CheckHealth(channel, "", absl::Milliseconds(200), &call);
    if (call.ok()) return s;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return HealthStatus::kUnknown;
}

ServerOptions Options(int port) {
  ServerOptions options;
  options.service_name = "health-test";
  options.grpc_address = absl::StrCat("127.0.0.1:", port);
  options.metrics_address = "";
  options.probe_interval = absl::Milliseconds(50);
  options.drain_timeout = absl::Milliseconds(200);
  options.auth.allow_unauthenticated = true;
  return options;
}

TEST(ServerHealthTest, NotServingWhileTheFirstProbeRunsAndFails) {
  const int port = test::FreePort();
  registry::v1::RegistryService::Service service;  // unimplemented methods are enough
  Server server(Options(port), std::make_shared<metrics::Registry>());
  server.AddService(&service, kName);
  absl::Notification release;
  std::atomic<int> probes{0};
  server.SetReadinessProbe([&] {
    // The first probe blocks until the test has asked the health service.
    if (probes.fetch_add(1) == 0) release.WaitForNotificationWithTimeout(absl::Seconds(10));
    return absl::UnavailableError("feed not loaded");
  });
  absl::Status started;
  std::thread starter([&] { started = server.Start(); });

  auto channel = Dial(port);
  HealthStatus first = FirstAnswer(channel.get(), absl::Seconds(10));
  HealthStatus named = CheckHealth(channel.get(), kName, absl::Seconds(2));
  release.Notify();
  starter.join();
  ASSERT_THAT(started, test::IsOk());
  EXPECT_EQ(probes.load() >= 1, true);
  EXPECT_EQ(first, HealthStatus::kNotServing)
      << "\"\" during the first probe: " << HealthStatusName(first);
  EXPECT_EQ(named, HealthStatus::kNotServing)
      << kName << " during the first probe: " << HealthStatusName(named);

  // After the first probe, and after several more, still NOT_SERVING.
  for (int round = 0; round < 2; ++round) {
    HealthStatus all = CheckHealth(channel.get(), "", absl::Seconds(2));
    HealthStatus svc = CheckHealth(channel.get(), kName, absl::Seconds(2));
    EXPECT_EQ(all, HealthStatus::kNotServing) << "round " << round << ": " << HealthStatusName(all);
    EXPECT_EQ(svc, HealthStatus::kNotServing) << "round " << round << ": " << HealthStatusName(svc);
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_GE(probes.load(), 3);
  EXPECT_FALSE(server.serving());
  server.Shutdown();
}

// The same server with a probe that passes: SERVING for both, so the test above can tell.
TEST(ServerHealthTest, ServingOnceAProbePasses) {
  const int port = test::FreePort();
  registry::v1::RegistryService::Service service;
  Server server(Options(port), std::make_shared<metrics::Registry>());
  server.AddService(&service, kName);
  std::atomic<bool> ready{false};
  server.SetReadinessProbe(
      [&] { return ready.load() ? absl::OkStatus() : absl::UnavailableError("not yet"); });
  ASSERT_THAT(server.Start(), test::IsOk());
  auto channel = Dial(port);
  EXPECT_EQ(CheckHealth(channel.get(), "", absl::Seconds(2)), HealthStatus::kNotServing);
  EXPECT_EQ(CheckHealth(channel.get(), kName, absl::Seconds(2)), HealthStatus::kNotServing);
  ready.store(true);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server.serving() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(CheckHealth(channel.get(), "", absl::Seconds(2)), HealthStatus::kServing);
  EXPECT_EQ(CheckHealth(channel.get(), kName, absl::Seconds(2)), HealthStatus::kServing);
  server.Shutdown();
}

// The evaluation App whose feed cannot load (the registry and ingest it names are not
// there): NOT_SERVING from the first answer on, for "" and its service name.
TEST(ServerHealthTest, EvaluationNotServingWhileItsFeedIsNotLoaded) {
  test::RedisServer redis;
  ASSERT_THAT(redis.Start(), test::IsOk());
  const int port = test::FreePort();
  const int nowhere = test::FreePort();
  evaluation::AppConfig config;
  config.server = Options(port);
  config.server.service_name = "evaluation";
  config.redis.host = "127.0.0.1";
  config.redis.port = redis.port();
  config.region_prefix = "44";
  config.registry_target = absl::StrCat("127.0.0.1:", nowhere);
  config.ingest_target = absl::StrCat("127.0.0.1:", nowhere);
  evaluation::App app(config);
  absl::Status started;
  std::thread starter([&] { started = app.Start(); });
  auto channel = Dial(port);
  HealthStatus first = FirstAnswer(channel.get(), absl::Seconds(10));
  starter.join();
  ASSERT_THAT(started, test::IsOk());
  EXPECT_EQ(first, HealthStatus::kNotServing) << HealthStatusName(first);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(CheckHealth(channel.get(), "", absl::Seconds(2)), HealthStatus::kNotServing);
    EXPECT_EQ(CheckHealth(channel.get(), "iplus.evaluation.v1.EvaluationService", absl::Seconds(2)),
              HealthStatus::kNotServing);
    absl::SleepFor(absl::Milliseconds(100));
  }
  app.Shutdown();
}

}  // namespace
}  // namespace iplus
