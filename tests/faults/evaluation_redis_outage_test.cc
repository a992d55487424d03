// Fault test of evaluation: its Redis going away and coming back under a running App,
// with the registry and ingest (on a Redis of their own) up throughout.
//
// What it holds the service to (DESIGN.md §5): an unreachable Redis is UNAVAILABLE,
// returned quickly, never a hang; health says NOT_SERVING while Redis is away and
// SERVING again once it is back; an open WatchScorecard stream reports the failed
// refresh in a message's status, keeps the last scorecard and stays open, and sends a
// fresh scorecard once Redis is back.

#include <cmath>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/evaluation_e2e_util.h"

namespace iplus::evaluation::e2e {
namespace {

using ::iplus::registry::e2e::CheckHealth;
using ::iplus::registry::e2e::GrpcIs;
using ::iplus::registry::e2e::HealthStatus;
using Code = grpc::StatusCode;

constexpr absl::Duration kUnavailableWithin = absl::Milliseconds(250);
constexpr absl::Duration kNotServingWithin = absl::Seconds(1);
constexpr absl::Duration kServingAgainWithin = absl::Seconds(5);
constexpr char kDev[] = "product_dev_cycle_days";

void Report(ingest::e2e::IngestStub& stub, const std::string& report_id, const std::string& code,
            const std::string& period, double value) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    iv1::ReportObservationsResponse response;
    grpc::Status s = ingest::e2e::Report(
        stub, {ingest::e2e::Number(report_id, code, kDev, period, value)}, &response);
    if (s.ok() && response.results(0).outcome() != iv1::OUTCOME_REJECTED) return;
    ASSERT_LT(absl::Now(), deadline) << "observation not accepted";
    absl::SleepFor(absl::Milliseconds(50));
  }
}

bool WaitHealth(grpc::Channel* channel, HealthStatus want, absl::Duration within) {
  const absl::Time deadline = absl::Now() + within;
  while (absl::Now() < deadline) {
    if (CheckHealth(channel, "", absl::Milliseconds(500)) == want) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST(EvaluationRedisOutageTest, UnavailableQuicklyNotServingAndRecovers) {
  test::RedisServer shared_redis;  // the registry's and ingest's
  IPLUS_ASSERT_OK(shared_redis.Start());
  test::RedisServer::Options options;
  options.aof = true;  // the restarted Redis keeps the targets
  test::RedisServer redis(options);
  IPLUS_ASSERT_OK(redis.Start());
  RegistryInstance registry(shared_redis.port());
  IPLUS_ASSERT_OK(registry.start_status());
  ASSERT_TRUE(registry.RegisterManufacturers(1, 4).ok());
  IngestInstance ingest(shared_redis.port(), registry.port());
  IPLUS_ASSERT_OK(ingest.start_status());
  ASSERT_TRUE(ingest.WaitReady());
  Report(ingest.stub(), "b1", registry::e2e::CodeN(1), "2015", 100);
  Report(ingest.stub(), "b2", registry::e2e::CodeN(2), "2015", 200);
  Report(ingest.stub(), "c1", registry::e2e::CodeN(1), "2017", 90);
  Report(ingest.stub(), "c2", registry::e2e::CodeN(2), "2017", 190);

  EvaluationInstance evaluation(redis.port(), registry.port(), ingest.port());
  IPLUS_ASSERT_OK(evaluation.start_status());
  ASSERT_TRUE(evaluation.WaitServing());
  ev1::EvaluateRequest evaluate;
  evaluate.set_target_id("dev-cycle");
  evaluate.set_period("2017");
  ev1::EvaluateResponse evaluated;
  ASSERT_TRUE(Call(evaluation.stub(), &EvaluationStub::Evaluate, evaluate, &evaluated).ok());
  EXPECT_NEAR(evaluated.evaluation().current_value(), 140, 1e-9);

  ev1::WatchScorecardRequest watch_request;
  watch_request.set_period("2017");
  watch_request.mutable_min_interval()->set_seconds(1);
  WatchReader watch(evaluation.stub(), watch_request);
  ASSERT_TRUE(watch.WaitFor(1, absl::Seconds(10)));

  redis.Stop();

  // Every call that needs Redis: UNAVAILABLE, quickly.
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_THAT(Call(evaluation.stub(), &EvaluationStub::Evaluate, evaluate, &evaluated),
                GrpcIs(Code::UNAVAILABLE));
    EXPECT_LT(absl::Now() - start, kUnavailableWithin);
  }
  {
    const absl::Time start = absl::Now();
    ev1::GetScorecardRequest request;
    request.set_period("2017");
    ev1::GetScorecardResponse response;
    EXPECT_THAT(Call(evaluation.stub(), &EvaluationStub::GetScorecard, request, &response),
                GrpcIs(Code::UNAVAILABLE));
    ev1::ListTargetsRequest list;
    ev1::ListTargetsResponse listed;
    EXPECT_THAT(Call(evaluation.stub(), &EvaluationStub::ListTargets, list, &listed),
                GrpcIs(Code::UNAVAILABLE));
    ev1::GetTargetRequest get;
    get.set_id("dev-cycle");
    ev1::GetTargetResponse got;
    EXPECT_THAT(Call(evaluation.stub(), &EvaluationStub::GetTarget, get, &got),
                GrpcIs(Code::UNAVAILABLE));
    EXPECT_LT(absl::Now() - start, 3 * kUnavailableWithin);
  }
  EXPECT_TRUE(WaitHealth(evaluation.channel(), HealthStatus::kNotServing, kNotServingWithin));

  // New data while Redis is away: the watch reports the failed refresh, repeats the last
  // scorecard and stays open.
  Report(ingest.stub(), "c3", registry::e2e::CodeN(1), "2017", 80);
  ASSERT_TRUE(watch.WaitFor(2, absl::Seconds(10)));
  {
    const auto m = watch.messages()[1].response;
    EXPECT_EQ(m.status().code(), Code::UNAVAILABLE) << m.status().message();
    EXPECT_EQ(m.scorecard().evaluations_size(),
              watch.messages()[0].response.scorecard().evaluations_size());
    EXPECT_NEAR(Find(m.scorecard(), "dev-cycle")->current_value(), 140, 1e-9);
  }
  EXPECT_FALSE(watch.WaitEnd(absl::Milliseconds(100)).has_value()) << "the stream ended";

  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_TRUE(WaitHealth(evaluation.channel(), HealthStatus::kServing, kServingAgainWithin));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  grpc::Status s;
  do {
    s = Call(evaluation.stub(), &EvaluationStub::Evaluate, evaluate, &evaluated);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // (80 + 190) / 2: the observation made while Redis was away is in.
  EXPECT_NEAR(evaluated.evaluation().current_value(), 135, 1e-9);
  // The watch recovers by itself with a fresh scorecard.
  const absl::Time until = absl::Now() + absl::Seconds(10);
  bool fresh = false;
  while (!fresh && absl::Now() < until) {
    for (const auto& m : watch.messages()) {
      if (m.response.status().code() == 0 && Find(m.response.scorecard(), "dev-cycle") &&
          std::abs(Find(m.response.scorecard(), "dev-cycle")->current_value() - 135) < 1e-9) {
        fresh = true;
      }
    }
    if (!fresh) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(fresh) << "no fresh scorecard after Redis came back";
  EXPECT_FALSE(watch.WaitEnd(absl::Milliseconds(10)).has_value()) << "the stream ended";
}

}  // namespace
}  // namespace iplus::evaluation::e2e
