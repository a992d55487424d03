// Fault tests of the ingestion service, through real gRPC on loopback:
//
//  - the registry stopped in the middle of a stream and later restarted on the same
//    port and Redis: enterprises ingestion has cached are still accepted, enterprises it
//    cannot check are rejected REGISTRY_UNAVAILABLE (retryable) and none of them is
//    accepted, and once the registry is back the same batch, resent, is accepted for the
//    enterprises the registry knows and rejected for the ones it does not;
//  - ingestion's own Redis stopped and restarted: ReportObservations is UNAVAILABLE
//    quickly, a stream acknowledges each batch with UNAVAILABLE and stays open, and the
//    same batches succeed once Redis is back.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/ingest_e2e_util.h"

namespace iplus::ingest::e2e {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;
using Stream =
    grpc::ClientReaderWriter<v1::StreamObservationsRequest, v1::StreamObservationsResponse>;

constexpr char kEnergy[] = "energy_utilization_rate";
// An unreachable Redis must be reported this quickly.
constexpr absl::Duration kUnavailableWithin = absl::Seconds(1);

// Writes one batch and reads its acknowledgement; false when the stream broke.
bool Exchange(Stream* stream, int64_t batch_id, const std::vector<v1::Observation>& observations,
              v1::StreamObservationsResponse* ack) {
  v1::StreamObservationsRequest request;
  request.set_batch_id(batch_id);
  for (const auto& o : observations) *request.add_observations() = o;
  if (!stream->Write(request)) return false;
  if (!stream->Read(ack)) return false;
  EXPECT_EQ(ack->batch_id(), batch_id);
  return true;
}

std::vector<v1::Observation> EnergyFor(const std::vector<int>& ns, const std::string& period,
                                       const std::string& prefix) {
  std::vector<v1::Observation> out;
  for (int n : ns) {
    out.push_back(
        Number(absl::StrCat(prefix, "-", n, "-", period), CodeN(n), kEnergy, period, 50 + n % 40));
  }
  return out;
}

std::vector<int> Range(int first, int count) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(first + i);
  return out;
}

TEST(IngestRegistryOutageTest, UncachedEnterprisesAreRetryableWhileTheRegistryIsDown) {
  test::RedisServer redis;
  IPLUS_ASSERT_OK(redis.Start());
  const int registry_port = test::FreePort();
  auto registry = std::make_unique<RegistryInstance>(redis.port(), registry_port);
  IPLUS_ASSERT_OK(registry->start_status());
  ASSERT_EQ(registry->port(), registry_port);

  // Cached: registered and reported before the outage.
  const std::vector<int> cached = Range(1, 10);
  // Registered just before the outage, never reported: cached or not, depending on
  // whether the directory's follower saw their events in time.
  const std::vector<int> late = Range(200, 5);
  // Registered only once the registry is back.
  const std::vector<int> after_restart = Range(300, 5);
  // Never registered.
  const std::vector<int> unknown = Range(9000, 5);

  ASSERT_TRUE(registry->RegisterManufacturers(1, 10).ok());
  IngestInstance ingest(redis.port(), registry_port);
  IPLUS_ASSERT_OK(ingest.start_status());
  ASSERT_TRUE(ingest.WaitReady());

  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(120));
  auto stream = ingest.stub().StreamObservations(&context);
  v1::StreamObservationsResponse ack;
  ASSERT_TRUE(Exchange(stream.get(), 1, EnergyFor(cached, "2018", "c"), &ack));
  ASSERT_EQ(ack.status().code(), 0) << ack.status().message();
  for (const auto& r : ack.results()) EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));

  ASSERT_TRUE(registry->RegisterManufacturers(200, 5).ok());
  registry->Shutdown();
  registry.reset();
  {
    // The registry is really gone.
    auto channel = Connect(registry_port);
    auto probe = rv1::RegistryService::NewStub(channel);
    rv1::GetEnterpriseRequest request;
    request.set_code(CodeN(1));
    rv1::GetEnterpriseResponse response;
    EXPECT_THAT(Call(*probe, &RegistryStub::GetEnterprise, request, &response, absl::Seconds(2)),
                GrpcIs(grpc::StatusCode::UNAVAILABLE));
  }

  // One batch: cached enterprises (new period), late ones, ones registered later, and
  // unknown ones.
  std::vector<v1::Observation> batch = EnergyFor(cached, "2019", "c");
  std::map<std::string, const char*> group;  // report id -> which group
  for (const auto& o : batch) group[o.report_id()] = "cached";
  for (const auto& [ns, name] :
       {std::make_pair(late, "late"), std::make_pair(after_restart, "after_restart"),
        std::make_pair(unknown, "unknown")}) {
    for (auto& o : EnergyFor(ns, "2019", name)) {
      group[o.report_id()] = name;
      batch.push_back(std::move(o));
    }
  }
  // Sent twice while the registry is down: the same answers, nothing accepted for an
  // enterprise that could not be checked.
  std::map<std::string, int> accepted;  // report id -> times ACCEPTED over every attempt
  for (int64_t attempt = 2; attempt <= 3; ++attempt) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(Exchange(stream.get(), attempt, batch, &ack));
    EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "a registry outage must not hang reports";
    ASSERT_EQ(ack.status().code(), 0) << ack.status().message();
    ASSERT_THAT(ack.results(), SizeIs(batch.size()));
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& r = ack.results(static_cast<int>(i));
      const std::string g = group[batch[i].report_id()];
      if (r.outcome() == v1::OUTCOME_ACCEPTED) ++accepted[batch[i].report_id()];
      if (g == "cached") {
        EXPECT_THAT(r, ItemIs(attempt == 2 ? v1::OUTCOME_ACCEPTED : v1::OUTCOME_DUPLICATE, 1))
            << batch[i].enterprise_code();
      } else if (g == "late") {
        if (r.outcome() == v1::OUTCOME_REJECTED) {
          EXPECT_THAT(r, Rejected(v1::REJECT_REASON_REGISTRY_UNAVAILABLE, "enterprise_code", true));
        } else {
          EXPECT_TRUE(r.outcome() == v1::OUTCOME_ACCEPTED || r.outcome() == v1::OUTCOME_DUPLICATE)
              << Describe(r);
        }
      } else {
        EXPECT_THAT(r, Rejected(v1::REJECT_REASON_REGISTRY_UNAVAILABLE, "enterprise_code", true))
            << g << " " << batch[i].enterprise_code();
      }
    }
  }

  // The registry back on the same port and Redis; enterprises registered now.
  registry = std::make_unique<RegistryInstance>(redis.port(), registry_port);
  IPLUS_ASSERT_OK(registry->start_status());
  ASSERT_TRUE(registry->RegisterManufacturers(300, 5).ok());

  // Resend the same batch until nothing is REGISTRY_UNAVAILABLE any more (the service's
  // channel reconnects with back-off).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int64_t attempt = 4;
  bool settled = false;
  while (!settled && absl::Now() < deadline) {
    ASSERT_TRUE(Exchange(stream.get(), attempt++, batch, &ack));
    ASSERT_EQ(ack.status().code(), 0) << ack.status().message();
    ASSERT_THAT(ack.results(), SizeIs(batch.size()));
    settled = true;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& r = ack.results(static_cast<int>(i));
      if (r.outcome() == v1::OUTCOME_ACCEPTED) ++accepted[batch[i].report_id()];
      if (r.reject_reason() == v1::REJECT_REASON_REGISTRY_UNAVAILABLE) {
        EXPECT_TRUE(r.retryable());
        settled = false;
      }
    }
    if (!settled) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(settled) << "the registry's return was never noticed";
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& r = ack.results(static_cast<int>(i));
    const std::string id = batch[i].report_id();
    const std::string g = group[id];
    if (g == "unknown") {
      EXPECT_THAT(r, Rejected(v1::REJECT_REASON_UNKNOWN_ENTERPRISE, "enterprise_code", false));
      EXPECT_EQ(accepted[id], 0) << id;
    } else {
      // Stored exactly once over all attempts; the last attempt a duplicate at most.
      EXPECT_TRUE(r.outcome() == v1::OUTCOME_ACCEPTED || r.outcome() == v1::OUTCOME_DUPLICATE)
          << g << ": " << Describe(r);
      EXPECT_EQ(r.revision(), 1);
      EXPECT_EQ(accepted[id], 1) << id;
    }
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // The coverage shows exactly the enterprises that were accepted.
  v1::GetCoverageRequest coverage;
  coverage.set_indicator(kEnergy);
  coverage.mutable_periods()->set_start("2019");
  coverage.mutable_periods()->set_end("2019");
  v1::GetCoverageResponse covered;
  ASSERT_TRUE(Call(ingest.stub(), &IngestStub::GetCoverage, coverage, &covered).ok());
  ASSERT_THAT(covered.periods(), SizeIs(1));
  EXPECT_EQ(covered.periods(0).reporters(), 20);
}

TEST(IngestRedisOutageTest, UnavailableQuicklyAndTheStreamStaysOpen) {
  test::RedisServer registry_redis;
  IPLUS_ASSERT_OK(registry_redis.Start());
  test::RedisServer::Options options;
  options.aof = true;  // the restarted Redis keeps the catalogue and the data
  test::RedisServer redis(options);
  IPLUS_ASSERT_OK(redis.Start());
  RegistryInstance registry(registry_redis.port());
  IPLUS_ASSERT_OK(registry.start_status());
  ASSERT_TRUE(registry.RegisterManufacturers(1, 20).ok());
  IngestInstance ingest(redis.port(), registry.port());
  IPLUS_ASSERT_OK(ingest.start_status());
  ASSERT_TRUE(ingest.WaitReady());

  v1::ReportObservationsResponse response;
  ASSERT_TRUE(Report(ingest.stub(), EnergyFor(Range(1, 20), "2018", "w"), &response).ok());
  for (const auto& r : response.results()) EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));

  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(120));
  auto stream = ingest.stub().StreamObservations(&context);
  v1::StreamObservationsResponse ack;
  ASSERT_TRUE(Exchange(stream.get(), 1, EnergyFor(Range(1, 20), "2019", "s"), &ack));
  ASSERT_EQ(ack.status().code(), 0);

  redis.Stop();

  // Unary: UNAVAILABLE, quickly, also for a batch of many items.
  const std::vector<v1::Observation> unary_batch = EnergyFor(Range(1, 20), "2020", "u");
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_THAT(Report(ingest.stub(), unary_batch, &response),
                GrpcIs(grpc::StatusCode::UNAVAILABLE));
    EXPECT_LT(absl::Now() - start, kUnavailableWithin);
  }
  // Stream: each batch acknowledged UNAVAILABLE without results; the stream stays open.
  const std::vector<v1::Observation> stream_batch = EnergyFor(Range(1, 20), "2021", "s");
  for (int64_t id = 2; id <= 4; ++id) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(Exchange(stream.get(), id, stream_batch, &ack)) << "the stream broke";
    EXPECT_LT(absl::Now() - start, kUnavailableWithin);
    EXPECT_EQ(ack.status().code(), grpc::StatusCode::UNAVAILABLE) << ack.status().message();
    EXPECT_THAT(ack.results(), IsEmpty());
  }

  IPLUS_ASSERT_OK(redis.Start());
  // The same batch on the same stream succeeds once the client has reconnected.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  int64_t id = 5;
  do {
    ASSERT_TRUE(Exchange(stream.get(), id++, stream_batch, &ack)) << "the stream broke";
    if (ack.status().code() == 0) break;
    EXPECT_EQ(ack.status().code(), grpc::StatusCode::UNAVAILABLE) << ack.status().message();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_EQ(ack.status().code(), 0) << ack.status().message();
  ASSERT_THAT(ack.results(), SizeIs(stream_batch.size()));
  for (const auto& r : ack.results()) EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  // What was stored before the outage is still there: a resend is a duplicate.
  ASSERT_TRUE(Exchange(stream.get(), id++, EnergyFor(Range(1, 20), "2019", "s"), &ack));
  ASSERT_EQ(ack.status().code(), 0);
  for (const auto& r : ack.results()) EXPECT_THAT(r, ItemIs(v1::OUTCOME_DUPLICATE, 1));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // The unary batch too.
  ASSERT_TRUE(Report(ingest.stub(), unary_batch, &response).ok());
  ASSERT_THAT(response.results(), SizeIs(unary_batch.size()));
  for (const auto& r : response.results()) EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));
}

}  // namespace
}  // namespace iplus::ingest::e2e
