// RegistryDirectory against the real registry (its App, in-process, serving gRPC on
// loopback, with its own redis-server) and a separate redis-server for ingestion's cache.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/ingest/directory/registry_directory.h"
#include "services/registry/app.h"

namespace iplus::ingest {
namespace {

namespace v1 = ::iplus::registry::v1;
namespace cv1 = ::iplus::common::v1;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;

constexpr char kPrefix[] = "iplus:{ingest:44}:";

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

v1::Enterprise Manufacturer(int n) {
  v1::Enterprise e;
  e.set_code(CodeN(n));
  e.set_name(absl::StrFormat("Guangzhou Precision Parts %d Co.", n));
  e.set_region("440103");
  e.set_industry("C3411");
  e.set_ownership(cv1::OWNERSHIP_PRIVATE);
  e.set_size(cv1::ENTERPRISE_SIZE_MEDIUM);
  e.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  return e;
}

EnterpriseInfo Known(bool archived, const std::string& region = "440103") {
  EnterpriseInfo info;
  info.known = true;
  info.archived = archived;
  info.region = region;
  info.division = "C34";
  return info;
}

MATCHER_P(InfoIs, expected, "") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  *result_listener << "which is known=" << arg->known << " archived=" << arg->archived
                   << " region=" << arg->region << " division=" << arg->division;
  return arg->known == expected.known && arg->archived == expected.archived &&
         arg->region == expected.region && arg->division == expected.division;
}

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

class RegistryDirectoryIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Small stream nodes let the registry's approximate event cap (MAXLEN ~) trim early.
    test::RedisServer::Options registry_redis_options;
    registry_redis_options.extra_args = {"--stream-node-max-entries", "4"};
    registry_redis_ = std::make_unique<test::RedisServer>(registry_redis_options);
    IPLUS_ASSERT_OK(registry_redis_->Start());
    IPLUS_ASSERT_OK(ingest_redis_.Start());
    redis::Options options;
    options.port = ingest_redis_.port();
    ingest_client_ = std::make_unique<redis::Client>(options);
  }

  void TearDown() override {
    directories_.clear();
    StopRegistry();
  }

  // Starts the registry, on the port it had before when it is a restart.
  void StartRegistry(int64_t max_events = 1000000) {
    registry::AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = absl::StrCat("127.0.0.1:", registry_port_);
    config.server.metrics_address = "";
    config.server.drain_timeout = absl::Milliseconds(200);
    config.server.auth.allow_unauthenticated = true;
    config.redis.port = registry_redis_->port();
    config.store.max_events = max_events;
    registry_ = std::make_unique<registry::App>(config);
    IPLUS_ASSERT_OK(registry_->Start());
    registry_port_ = registry_->grpc_port();
    if (channel_ == nullptr) {
      channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", registry_port_),
                                     grpc::InsecureChannelCredentials());
      admin_ = v1::RegistryService::NewStub(channel_);
    }
  }

  void StopRegistry() {
    if (registry_ == nullptr) return;
    registry_->Shutdown();
    registry_.reset();
  }

  // The options of every directory here: fast polls, short timeouts.
  RegistryDirectoryOptions Options() {
    RegistryDirectoryOptions options;
    options.poll_interval = absl::Milliseconds(50);
    options.rpc_timeout = absl::Milliseconds(500);
    return options;
  }

  RegistryDirectory& NewDirectory(RegistryDirectoryOptions options) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", registry_port_),
                                       grpc::InsecureChannelCredentials());
    directories_.push_back(std::make_unique<RegistryDirectory>(channel, ingest_client_.get(),
                                                               kPrefix, metrics_, options));
    return *directories_.back();
  }
  RegistryDirectory& NewDirectory() { return NewDirectory(Options()); }

  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  void Create(int n) {
    v1::CreateEnterpriseRequest request;
    *request.mutable_enterprise() = Manufacturer(n);
    v1::CreateEnterpriseResponse response;
    grpc::ClientContext context;
    Deadline(&context);
    grpc::Status status = admin_->CreateEnterprise(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Archive(int n) {
    v1::ArchiveEnterpriseRequest request;
    request.set_code(CodeN(n));
    request.set_reason("closed");
    v1::ArchiveEnterpriseResponse response;
    grpc::ClientContext context;
    Deadline(&context);
    grpc::Status status = admin_->ArchiveEnterprise(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Moves an enterprise to another district of Guangzhou.
  void Move(int n, const std::string& region) {
    v1::UpdateEnterpriseRequest request;
    request.mutable_enterprise()->set_code(CodeN(n));
    request.mutable_enterprise()->set_region(region);
    request.mutable_update_mask()->add_paths("region");
    v1::UpdateEnterpriseResponse response;
    grpc::ClientContext context;
    Deadline(&context);
    grpc::Status status = admin_->UpdateEnterprise(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::ListEventsResponse Events(int64_t after_version) {
    v1::ListEventsRequest request;
    request.set_after_version(after_version);
    v1::ListEventsResponse response;
    grpc::ClientContext context;
    Deadline(&context);
    grpc::Status status = admin_->ListEvents(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  int64_t RegistryVersion() { return Events(0).registry_version(); }

  // Waits until `directory` reflects the registry's current version.
  bool CaughtUp(RegistryDirectory& directory) {
    const int64_t target = RegistryVersion();
    return Eventually([&] { return directory.version() >= target; }, absl::Seconds(10));
  }

  std::string CachedValue(int n) {
    auto reply = ingest_client_->Command({"HGET", absl::StrCat(kPrefix, "ent"), CodeN(n)});
    return reply.ok() ? reply->str() : reply.status().ToString();
  }

  std::unique_ptr<test::RedisServer> registry_redis_;
  test::RedisServer ingest_redis_;
  std::unique_ptr<redis::Client> ingest_client_;
  std::unique_ptr<registry::App> registry_;
  int registry_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryService::Stub> admin_;
  metrics::Registry metrics_;
  std::vector<std::unique_ptr<RegistryDirectory>> directories_;
};

TEST_F(RegistryDirectoryIntegrationTest, AnswersExistingMissingAndArchivedEnterprises) {
  StartRegistry();
  Create(1);
  Create(2);
  Archive(2);
  RegistryDirectory& directory = NewDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  ASSERT_TRUE(CaughtUp(directory));
  EXPECT_EQ(directory.size(), 2u);

  EXPECT_THAT(directory.Lookup({CodeN(1), CodeN(2), CodeN(3)}),
              ElementsAre(InfoIs(Known(false)), InfoIs(Known(true)), InfoIs(EnterpriseInfo{})));

  // The shared cache holds what memory holds, and the version it reflects.
  EXPECT_TRUE(Eventually([&] { return absl::StartsWith(CachedValue(2), "1|440103|C34|"); },
                         absl::Seconds(5)))
      << CachedValue(2);
  auto ver = ingest_client_->Command({"GET", absl::StrCat(kPrefix, "ent:ver")});
  ASSERT_TRUE(ver.ok());
  EXPECT_EQ(ver->str(), absl::StrCat(RegistryVersion()));
}

TEST_F(RegistryDirectoryIntegrationTest, NewEnterprisesAreFoundAndArchivesFollowed) {
  StartRegistry();
  Create(1);
  RegistryDirectory& directory = NewDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  ASSERT_TRUE(CaughtUp(directory));

  Create(5);
  // Found at once, by the miss path if the follower has not seen it yet.
  EXPECT_THAT(directory.Lookup({CodeN(5)}), ElementsAre(InfoIs(Known(false))));

  Archive(5);
  const absl::Time archived_at = absl::Now();
  EXPECT_TRUE(Eventually(
      [&] {
        auto r = directory.Lookup({CodeN(5)});
        return r[0].ok() && r[0]->archived;
      },
      absl::Seconds(5)));
  EXPECT_LT(absl::Now() - archived_at, absl::Seconds(2)) << "more than a few poll intervals";
  EXPECT_TRUE(Eventually([&] { return absl::StartsWith(CachedValue(5), "1|"); }, absl::Seconds(5)));
}

TEST_F(RegistryDirectoryIntegrationTest, ASecondReplicaServesFromTheSharedCache) {
  StartRegistry();
  for (int n = 1; n <= 30; ++n) Create(n);
  Archive(7);
  {
    RegistryDirectory& first = NewDirectory();
    IPLUS_ASSERT_OK(first.Start());
    ASSERT_TRUE(CaughtUp(first));
    first.Stop();
  }
  // Without the registry, only the shared cache can answer.
  StopRegistry();

  RegistryDirectory& second = NewDirectory();
  IPLUS_ASSERT_OK(second.Start());
  EXPECT_EQ(second.size(), 30u);
  auto results = second.Lookup({CodeN(1), CodeN(7), CodeN(30), CodeN(31)});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_THAT(results[0], InfoIs(Known(false)));
  EXPECT_THAT(results[1], InfoIs(Known(true)));
  EXPECT_THAT(results[2], InfoIs(Known(false)));
  EXPECT_THAT(results[3], StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(RegistryDirectoryIntegrationTest, RegistryOutageFailsMissesFastAndRecovers) {
  StartRegistry();
  Create(1);
  RegistryDirectory& directory = NewDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  ASSERT_TRUE(CaughtUp(directory));

  StopRegistry();
  const absl::Time start = absl::Now();
  auto results = directory.Lookup({CodeN(1), CodeN(2)});
  EXPECT_LT(absl::Now() - start, Options().rpc_timeout + absl::Milliseconds(300));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_THAT(results[0], InfoIs(Known(false)));
  EXPECT_THAT(results[1], StatusIs(absl::StatusCode::kUnavailable));

  StartRegistry();
  Create(2);
  // The channel reconnects with back-off; misses are answered again once it has.
  EXPECT_TRUE(Eventually(
      [&] {
        auto r = directory.Lookup({CodeN(2), CodeN(3)});
        return r[0].ok() && r[0]->known && r[1].ok() && !r[1]->known;
      },
      absl::Seconds(15)));
  EXPECT_TRUE(CaughtUp(directory));
}

TEST_F(RegistryDirectoryIntegrationTest, TrimmedEventsAreRebuiltFromTheExport) {
  auto Expected = [](int n) { return Known(n % 4 == 1, n % 5 == 2 ? "440104" : "440103"); };
  StartRegistry(/*max_events=*/4);
  for (int n = 1; n <= 5; ++n) Create(n);
  int64_t stopped_at = 0;
  {
    RegistryDirectory& first = NewDirectory();
    IPLUS_ASSERT_OK(first.Start());
    ASSERT_TRUE(CaughtUp(first));
    first.Stop();
    stopped_at = first.version();
  }

  // Many changes while nobody follows: the stream loses the ones after `stopped_at`.
  for (int n = 6; n <= 40; ++n) Create(n);
  for (int n = 2; n <= 40; n += 5) Move(n, "440104");
  for (int n = 1; n <= 40; n += 4) Archive(n);
  ASSERT_TRUE(Events(stopped_at).truncated()) << "the registry did not trim its stream";

  RegistryDirectory& second = NewDirectory();
  IPLUS_ASSERT_OK(second.Start());
  ASSERT_TRUE(CaughtUp(second));
  EXPECT_EQ(second.size(), 40u);
  for (int n = 1; n <= 40; ++n) {
    EXPECT_THAT(second.Lookup({CodeN(n)}), ElementsAre(InfoIs(Expected(n)))) << n;
  }

  // Redis was rewritten too: a replica loading it without the registry agrees.
  ASSERT_TRUE(Eventually(
      [&] {
        auto reply = ingest_client_->Command({"GET", absl::StrCat(kPrefix, "ent:ver")});
        return reply.ok() && reply->str() == absl::StrCat(second.version());
      },
      absl::Seconds(5)));
  second.Stop();
  StopRegistry();
  RegistryDirectory& third = NewDirectory();
  IPLUS_ASSERT_OK(third.Start());
  EXPECT_EQ(third.size(), 40u);
  for (int n = 1; n <= 40; ++n) {
    EXPECT_THAT(third.Lookup({CodeN(n)}), ElementsAre(InfoIs(Expected(n)))) << n;
  }
}

TEST_F(RegistryDirectoryIntegrationTest, CacheRedisOutageServesFromMemoryAndRewritesRedisLater) {
  StartRegistry();
  for (int n = 1; n <= 5; ++n) Create(n);
  ingest_redis_.Stop();

  RegistryDirectory& directory = NewDirectory();
  IPLUS_ASSERT_OK(directory.Start());  // cannot load: rebuilds from the registry instead
  ASSERT_TRUE(CaughtUp(directory));
  EXPECT_EQ(directory.size(), 5u);
  Archive(3);
  EXPECT_TRUE(Eventually(
      [&] {
        auto r = directory.Lookup({CodeN(3)});
        return r[0].ok() && r[0]->archived;
      },
      absl::Seconds(5)));

  IPLUS_ASSERT_OK(ingest_redis_.Start());
  EXPECT_TRUE(Eventually(
      [&] {
        auto reply = ingest_client_->Command({"GET", absl::StrCat(kPrefix, "ent:ver")});
        return reply.ok() && reply->str() == absl::StrCat(directory.version());
      },
      absl::Seconds(10)));
  EXPECT_TRUE(absl::StartsWith(CachedValue(3), "1|440103|C34|")) << CachedValue(3);
  EXPECT_TRUE(absl::StartsWith(CachedValue(5), "0|440103|C34|")) << CachedValue(5);
}

}  // namespace
}  // namespace iplus::ingest
