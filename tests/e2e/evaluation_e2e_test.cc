// The evaluation service end to end: its App, the real registry's and ingest's Apps on
// loopback gRPC, sharing one redis-server, seeded with deploy/targets.json.
//
// The data set is small enough to evaluate by hand (the expected values below are worked
// out in the comments, not by the service's code):
//
//   enterprise  region  industry key  kind          dev cycle (days)    platform   cloud
//                                                   2015  2016  2017    2015 2017  2015 2017
//   A           440103  C34      yes  manufacturer  100   90    85      no   yes   yes  yes
//   B           440103  C26      yes  manufacturer  200   190   180     yes  yes   no   yes
//   C           440106  C34      yes  manufacturer  160   140   -       -    yes   -    -
//   D           440305  C39      no   manufacturer  -     -     120     -    -     -    yes
//   E           350102  C34      no   manufacturer  -     -     -       -    -     yes  yes
//   P           440305  I64      no   platform op.  (reports nothing; never in a population)

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/e2e/evaluation_e2e_util.h"

namespace iplus::evaluation::e2e {
namespace {

using ::iplus::registry::e2e::GrpcInvalidField;
using ::iplus::registry::e2e::GrpcIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using Code = grpc::StatusCode;

constexpr char kDev[] = "product_dev_cycle_days";
constexpr char kPlatform[] = "innovation_platform";
constexpr char kCloud[] = "industry_cloud";
constexpr double kEps = 1e-9;

const std::string A = CodeIn("4401", 1);
const std::string B = CodeIn("4401", 2);
const std::string C = CodeIn("4401", 3);
const std::string D = CodeIn("4403", 4);
const std::string E = CodeIn("3501", 5);
const std::string P = CodeIn("4403", 6);

class EvaluationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    registry_ = std::make_unique<RegistryInstance>(redis_.port());
    IPLUS_ASSERT_OK(registry_->start_status());
    ingest_ = std::make_unique<IngestInstance>(redis_.port(), registry_->port());
    IPLUS_ASSERT_OK(ingest_->start_status());
    ASSERT_TRUE(ingest_->WaitReady());
    LoadDataset();
    evaluation_ = StartEvaluation();
  }

  void TearDown() override {
    evaluation_.reset();
    ingest_.reset();
    registry_.reset();
  }

  std::unique_ptr<EvaluationInstance> StartEvaluation() {
    auto e =
        std::make_unique<EvaluationInstance>(redis_.port(), registry_->port(), ingest_->port());
    EXPECT_THAT(e->start_status(), test::IsOk());
    EXPECT_TRUE(e->WaitServing());
    return e;
  }

  void LoadDataset() {
    using cv1::ENTERPRISE_SIZE_LARGE;
    using cv1::ENTERPRISE_SIZE_MEDIUM;
    using cv1::ENTERPRISE_SIZE_SMALL;
    rv1::BatchCreateEnterprisesRequest request;
    for (const auto& e : {
             Enterprise(A, "440103", "C34", true, cv1::OWNERSHIP_PRIVATE, ENTERPRISE_SIZE_MEDIUM),
             Enterprise(B, "440103", "C26", true, cv1::OWNERSHIP_STATE_OWNED,
                        ENTERPRISE_SIZE_LARGE),
             Enterprise(C, "440106", "C34", true, cv1::OWNERSHIP_PRIVATE, ENTERPRISE_SIZE_SMALL),
             Enterprise(D, "440305", "C39", false, cv1::OWNERSHIP_FOREIGN_INVESTED,
                        ENTERPRISE_SIZE_LARGE),
             Enterprise(E, "350102", "C34", false, cv1::OWNERSHIP_PRIVATE, ENTERPRISE_SIZE_MEDIUM),
             Enterprise(P, "440305", "I64", false, cv1::OWNERSHIP_JOINT_STOCK,
                        ENTERPRISE_SIZE_LARGE, cv1::ORGANIZATION_KIND_PLATFORM_OPERATOR),
         }) {
      *request.add_requests()->mutable_enterprise() = e;
    }
    rv1::BatchCreateEnterprisesResponse response;
    ASSERT_TRUE(Call(registry_->stub(), &rv1::RegistryService::Stub::BatchCreateEnterprises,
                     request, &response)
                    .ok());
    for (const auto& r : response.results())
      ASSERT_EQ(r.status().code(), 0) << r.status().message();

    Number(A, kDev, "2015", 100);
    Number(B, kDev, "2015", 200);
    Number(C, kDev, "2015", 160);
    Number(A, kDev, "2016", 90);
    Number(B, kDev, "2016", 190);
    Number(C, kDev, "2016", 140);
    Number(A, kDev, "2017", 85);
    Number(B, kDev, "2017", 180);
    Number(D, kDev, "2017", 120);
    Bool(A, kPlatform, "2015", false);
    Bool(B, kPlatform, "2015", true);
    Bool(A, kPlatform, "2017", true);
    Bool(B, kPlatform, "2017", true);
    Bool(C, kPlatform, "2017", true);
    Bool(A, kCloud, "2015", true);
    Bool(B, kCloud, "2015", false);
    Bool(E, kCloud, "2015", true);
    Bool(A, kCloud, "2017", true);
    Bool(B, kCloud, "2017", true);
    Bool(D, kCloud, "2017", true);
    Bool(E, kCloud, "2017", true);
  }

  // Reports one observation; it must be accepted or revised (ingest's enterprise cache
  // may need a moment to learn new enterprises).
  void Report(const iv1::Observation& o) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (;;) {
      iv1::ReportObservationsResponse response;
      grpc::Status s = ingest::e2e::Report(ingest_->stub(), {o}, &response);
      if (s.ok() && response.results(0).outcome() != iv1::OUTCOME_REJECTED) return;
      ASSERT_LT(absl::Now(), deadline) << "not accepted: " << s.error_message() << " "
                                       << (s.ok() ? response.results(0).message() : "");
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  void Number(const std::string& code, const std::string& indicator, const std::string& period,
              double v) {
    Report(ingest::e2e::Number(absl::StrCat("r", ++reports_), code, indicator, period, v));
  }
  void Bool(const std::string& code, const std::string& indicator, const std::string& period,
            bool v) {
    Report(ingest::e2e::Bool(absl::StrCat("r", ++reports_), code, indicator, period, v));
  }

  grpc::Status Evaluate(EvaluationStub& stub, const std::string& target, const std::string& period,
                        ev1::Evaluation* out, const cv1::Scope& scope = {}) {
    ev1::EvaluateRequest request;
    request.set_target_id(target);
    request.set_period(period);
    *request.mutable_scope() = scope;
    ev1::EvaluateResponse response;
    grpc::Status s = Call(stub, &EvaluationStub::Evaluate, request, &response);
    *out = response.evaluation();
    return s;
  }
  grpc::Status Evaluate(const std::string& target, const std::string& period, ev1::Evaluation* out,
                        const cv1::Scope& scope = {}) {
    return Evaluate(evaluation_->stub(), target, period, out, scope);
  }

  grpc::Status Scorecard(EvaluationStub& stub, const std::string& period, ev1::Scorecard* out,
                         const cv1::Scope& scope = {}) {
    ev1::GetScorecardRequest request;
    request.set_period(period);
    *request.mutable_scope() = scope;
    ev1::GetScorecardResponse response;
    grpc::Status s = Call(stub, &EvaluationStub::GetScorecard, request, &response);
    *out = response.scorecard();
    return s;
  }

  ev1::Target GetTarget(const std::string& id) {
    ev1::GetTargetRequest request;
    request.set_id(id);
    ev1::GetTargetResponse response;
    EXPECT_TRUE(Call(evaluation_->stub(), &EvaluationStub::GetTarget, request, &response).ok());
    return response.target();
  }

  test::RedisServer redis_;
  std::unique_ptr<RegistryInstance> registry_;
  std::unique_ptr<IngestInstance> ingest_;
  std::unique_ptr<EvaluationInstance> evaluation_;
  int reports_ = 0;
};

cv1::Scope Region(const std::string& prefix) {
  cv1::Scope s;
  s.set_region_prefix(prefix);
  return s;
}

// --- the evaluations, by hand ------------------------------------------------------------

TEST_F(EvaluationE2eTest, DevCycleMatchedPanelByHand) {
  ev1::Evaluation e;
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e).ok());
  // Population: the manufacturers A-E (P is a platform operator). Reporters: 2015 A B C,
  // 2017 A B D. The matched panel (2015 and 2017) is A, B.
  EXPECT_EQ(e.target_id(), "dev-cycle");
  EXPECT_EQ(e.period(), "2017");
  EXPECT_EQ(e.coverage().population(), 5);
  EXPECT_EQ(e.coverage().baseline_reporters(), 3);
  EXPECT_EQ(e.coverage().current_reporters(), 3);
  EXPECT_NEAR(e.coverage().ratio(), 0.6, kEps);
  EXPECT_NEAR(e.coverage().baseline_ratio(), 0.6, kEps);
  EXPECT_NEAR(e.coverage().floor(), 0.3, kEps);
  EXPECT_EQ(e.panel_size(), 2);
  EXPECT_EQ(e.panel_mode(), ev1::PANEL_MODE_MATCHED);
  // Base over the panel: (100 + 200) / 2 = 150; current (85 + 180) / 2 = 132.5; the
  // target 150 x (1 - 0.12) = 132 is not met (132.5 > 132).
  EXPECT_NEAR(e.baseline_value(), 150, kEps);
  EXPECT_NEAR(e.current_value(), 132.5, kEps);
  EXPECT_NEAR(e.target_value(), 132, kEps);
  EXPECT_NEAR(e.progress(), 17.5 / 18, kEps);
  EXPECT_NEAR(e.expected_progress(), 2.0 / 3, kEps);
  // Points: 2015 over all its reporters (100 + 200 + 160) / 3; 2016 over the 2015-2016
  // panel A B C (90 + 190 + 140) / 3 = 140; 2017 over the panel A B: 132.5.
  ASSERT_EQ(e.points_size(), 3);
  EXPECT_EQ(e.points(0).period(), "2015");
  EXPECT_NEAR(e.points(0).value(), 460.0 / 3, kEps);
  EXPECT_EQ(e.points(0).reporters(), 3);
  EXPECT_NEAR(e.points(1).value(), 140, kEps);
  EXPECT_EQ(e.points(1).reporters(), 3);
  EXPECT_NEAR(e.points(2).value(), 132.5, kEps);
  EXPECT_EQ(e.points(2).reporters(), 2);
  // Least squares over x = 2015..2017: slope = ((y2 - m) - (y0 - m)) / 2 with m the mean
  // of the ys, forecast at 2018 = m + 2 x slope = 121.11...; f = (121.11 - 150) /
  // (132 - 150) = 1.60 >= 1: on track.
  const double y0 = 460.0 / 3, y1 = 140, y2 = 132.5;
  const double mean = (y0 + y1 + y2) / 3;
  const double slope = (y2 - y0) / 2;
  EXPECT_NEAR(e.forecast_value(), mean + 2 * slope, 1e-9);
  EXPECT_NEAR(e.forecast_value(), 121.111111111, 1e-6);
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_ON_TRACK);
  EXPECT_FALSE(e.status_reason().empty());
  EXPECT_FALSE(e.cached());
  EXPECT_GT(e.computed_time().seconds(), 0);
  // The versions it was read at: one per period from the baseline, in order.
  EXPECT_GT(e.data_versions().registry_version(), 0);
  EXPECT_EQ(e.data_versions().target_etag(), "r1");
  ASSERT_EQ(e.data_versions().ingest_versions_size(), 3);
  EXPECT_EQ(e.data_versions().ingest_versions(0).indicator(), kDev);
  EXPECT_EQ(e.data_versions().ingest_versions(0).period(), "2015");
  EXPECT_GT(e.data_versions().ingest_versions(2).version(), 0);

  // The same request again: from the cache, identical but for `cached`.
  ev1::Evaluation again;
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &again).ok());
  EXPECT_TRUE(again.cached());
  again.set_cached(false);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, again));
}

TEST_F(EvaluationE2eTest, ScopesNarrowThePopulation) {
  ev1::Evaluation e;
  // Guangzhou (4401): A B C. Reporters 2015 A B C, 2017 A B; panel A B.
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e, Region("4401")).ok());
  EXPECT_EQ(e.scope().region_prefix(), "4401");
  EXPECT_EQ(e.coverage().population(), 3);
  EXPECT_EQ(e.coverage().current_reporters(), 2);
  EXPECT_NEAR(e.coverage().ratio(), 2.0 / 3, kEps);
  EXPECT_NEAR(e.progress(), 17.5 / 18, kEps);
  // C34 manufacturers: A C E; 2015 A C, 2017 A; panel A: 100 -> 85 against 88: achieved.
  cv1::Scope c34;
  c34.set_industry_prefix("C34");
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e, c34).ok());
  EXPECT_EQ(e.coverage().population(), 3);
  EXPECT_EQ(e.panel_size(), 1);
  EXPECT_NEAR(e.baseline_value(), 100, kEps);
  EXPECT_NEAR(e.current_value(), 85, kEps);
  EXPECT_NEAR(e.target_value(), 88, kEps);
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_ACHIEVED);
  // Fujian: E alone, who never reported a cycle: insufficient data, no values.
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e, Region("35")).ok());
  EXPECT_EQ(e.coverage().population(), 1);
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_INSUFFICIENT_DATA);
  EXPECT_FALSE(e.has_baseline_value());
  EXPECT_FALSE(e.has_progress());
  // Key enterprises only: A B C.
  cv1::Scope key;
  key.set_key_only(true);
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e, key).ok());
  EXPECT_EQ(e.coverage().population(), 3);
}

TEST_F(EvaluationE2eTest, ShareAndCountTargetsByHand) {
  ev1::Evaluation e;
  // platform-coverage: key manufacturers A B C. 2015: A no, B yes -> 1/2; 2017: all three
  // yes -> 1.0 >= 0.8: achieved; progress (1 - 0.5) / (0.8 - 0.5) = 5/3; every reporter
  // counts (no panel) but the panel size is still reported (A B).
  ASSERT_TRUE(Evaluate("platform-coverage", "2017", &e).ok());
  EXPECT_EQ(e.coverage().population(), 3);
  EXPECT_EQ(e.coverage().baseline_reporters(), 2);
  EXPECT_EQ(e.coverage().current_reporters(), 3);
  EXPECT_NEAR(e.baseline_value(), 0.5, kEps);
  EXPECT_NEAR(e.current_value(), 1.0, kEps);
  EXPECT_NEAR(e.target_value(), 0.8, kEps);
  EXPECT_NEAR(e.progress(), 5.0 / 3, kEps);
  EXPECT_EQ(e.panel_mode(), ev1::PANEL_MODE_ALL_REPORTERS);
  EXPECT_EQ(e.panel_size(), 2);
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_ACHIEVED);
  // Points 2015 and 2017 (2016 has no reporter: a gap); the line through them reaches
  // 1.25 at 2018.
  ASSERT_EQ(e.points_size(), 2);
  EXPECT_EQ(e.points(1).period(), "2017");
  EXPECT_NEAR(e.forecast_value(), 1.25, kEps);

  // industry-cloud-adoption: manufacturers A-E. 2015: A yes, B no, E yes -> 2; 2017: A B
  // D E yes -> 4 = 2 x 2: achieved, progress 1.
  ASSERT_TRUE(Evaluate("industry-cloud-adoption", "2017", &e).ok());
  EXPECT_EQ(e.coverage().population(), 5);
  EXPECT_NEAR(e.baseline_value(), 2, kEps);
  EXPECT_NEAR(e.current_value(), 4, kEps);
  EXPECT_NEAR(e.target_value(), 4, kEps);
  EXPECT_NEAR(e.progress(), 1, kEps);
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_ACHIEVED);

  // No data at all: insufficient data, not an error.
  ASSERT_TRUE(Evaluate("inventory-turnover", "2017", &e).ok());
  EXPECT_EQ(e.status(), ev1::EVALUATION_STATUS_INSUFFICIENT_DATA);
  EXPECT_EQ(e.coverage().population(), 5);
  EXPECT_EQ(e.coverage().baseline_reporters(), 0);
}

TEST_F(EvaluationE2eTest, BreakdownIsALeagueTable) {
  ev1::BreakdownRequest request;
  request.set_target_id("dev-cycle");
  request.set_period("2017");
  request.set_dimension(ev1::BREAKDOWN_DIMENSION_PROVINCE);
  ev1::BreakdownResponse b;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b).ok());
  // Guangdong (A B C D) has a progress; Fujian (E) has none and comes last.
  ASSERT_EQ(b.groups_size(), 2);
  EXPECT_EQ(b.groups(0).key(), "440000");
  EXPECT_THAT(b.groups(0).label(), HasSubstr("Guangdong"));
  EXPECT_EQ(b.groups(0).evaluation().scope().region_prefix(), "44");
  EXPECT_EQ(b.groups(0).evaluation().coverage().population(), 4);
  EXPECT_NEAR(b.groups(0).evaluation().coverage().ratio(), 0.75, kEps);
  EXPECT_NEAR(b.groups(0).evaluation().progress(), 17.5 / 18, kEps);
  EXPECT_EQ(b.groups(1).key(), "350000");
  EXPECT_FALSE(b.groups(1).evaluation().has_progress());
  EXPECT_EQ(b.total().coverage().population(), 5);
  EXPECT_NEAR(b.total().progress(), 17.5 / 18, kEps);
  EXPECT_FALSE(b.total().cached());

  // By industry division: C26 (B), C34 (A C E), C39 (D); C34 achieved (panel A: 100 ->
  // 85) leads; B alone 200 -> 180 has progress 20/24; D has no baseline.
  request.set_dimension(ev1::BREAKDOWN_DIMENSION_INDUSTRY_DIVISION);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b).ok());
  ASSERT_EQ(b.groups_size(), 3);
  EXPECT_EQ(b.groups(0).key(), "C34");
  EXPECT_NEAR(b.groups(0).evaluation().progress(), 15.0 / 12, kEps);
  EXPECT_EQ(b.groups(1).key(), "C26");
  EXPECT_NEAR(b.groups(1).evaluation().progress(), 20.0 / 24, kEps);
  EXPECT_EQ(b.groups(2).key(), "C39");

  // Again: cached, every group too.
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b).ok());
  EXPECT_TRUE(b.total().cached());
  EXPECT_TRUE(b.groups(0).evaluation().cached());

  // Errors.
  request.set_dimension(ev1::BREAKDOWN_DIMENSION_UNSPECIFIED);
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "dimension"));
  request.set_dimension(static_cast<ev1::BreakdownDimension>(42));
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "dimension"));
  request.set_dimension(ev1::BREAKDOWN_DIMENSION_SIZE);
  request.set_target_id("no-such-target");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b),
              GrpcIs(Code::NOT_FOUND));
  request.set_target_id("dev-cycle");
  request.set_period("2014");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::Breakdown, request, &b),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));
}

// --- errors of the evaluation calls ----------------------------------------------------

TEST_F(EvaluationE2eTest, EvaluateRejectsBadRequests) {
  ev1::Evaluation e;
  EXPECT_THAT(Evaluate("no-such-target", "2017", &e), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Evaluate("", "2017", &e), GrpcInvalidField(Code::INVALID_ARGUMENT, "target_id"));
  EXPECT_THAT(Evaluate("dev-cycle", "", &e), GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));
  EXPECT_THAT(Evaluate("dev-cycle", "2017-13", &e),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));
  EXPECT_THAT(Evaluate("dev-cycle", "2017-Q1", &e),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));  // wrong granularity
  EXPECT_THAT(Evaluate("dev-cycle", "2014", &e),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));  // before the baseline
  EXPECT_THAT(Evaluate("dev-cycle", "2017", &e, Region("4x")),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "scope.region_prefix"));
  cv1::Scope bad_industry;
  bad_industry.set_industry_prefix("c26");
  EXPECT_THAT(Evaluate("dev-cycle", "2017", &e, bad_industry),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "scope.industry_prefix"));
  cv1::Scope bad_enum;
  bad_enum.set_ownership(static_cast<cv1::Ownership>(42));
  EXPECT_THAT(Evaluate("dev-cycle", "2017", &e, bad_enum),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "scope.ownership"));

  ev1::Scorecard card;
  EXPECT_THAT(Scorecard(evaluation_->stub(), "", &card),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));
  EXPECT_THAT(Scorecard(evaluation_->stub(), "2017", &card, Region("99")),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "scope.region_prefix"));
  // A period no target can be evaluated for leaves them all out; not an error.
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2014", &card).ok());
  EXPECT_EQ(card.evaluations_size(), 0);
}

TEST_F(EvaluationE2eTest, ScorecardHasEveryActiveTargetInIdOrder) {
  ev1::Scorecard card;
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
  std::vector<std::string> ids;
  for (const auto& e : card.evaluations()) ids.push_back(e.target_id());
  EXPECT_THAT(ids, ElementsAre("dev-cycle", "energy-utilization", "industry-cloud-adoption",
                               "inventory-turnover", "platform-coverage"));
  EXPECT_EQ(card.period(), "2017");
  EXPECT_EQ(Find(card, "dev-cycle")->status(), ev1::EVALUATION_STATUS_ON_TRACK);
  EXPECT_EQ(Find(card, "platform-coverage")->status(), ev1::EVALUATION_STATUS_ACHIEVED);
  EXPECT_EQ(Find(card, "energy-utilization")->status(), ev1::EVALUATION_STATUS_INSUFFICIENT_DATA);
  for (const auto& e : card.evaluations()) EXPECT_FALSE(e.cached()) << e.target_id();
  // The scorecard shares its entries with Evaluate.
  ev1::Evaluation e;
  ASSERT_TRUE(Evaluate("platform-coverage", "2017", &e).ok());
  EXPECT_TRUE(e.cached());
}

// --- the cache: invalidation and replicas -------------------------------------------------

TEST_F(EvaluationE2eTest, AnObservationInvalidatesExactlyWhatReadsIt) {
  ev1::Scorecard card;
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
  ev1::Evaluation dev2016;
  ASSERT_TRUE(Evaluate("dev-cycle", "2016", &dev2016).ok());
  ASSERT_FALSE(dev2016.cached());
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
  for (const auto& e : card.evaluations()) ASSERT_TRUE(e.cached()) << e.target_id();

  // C reports its 2017 cycle: the panel becomes A B C, base 460/3, current
  // (85 + 180 + 130) / 3 = 131.67 <= 0.88 x 153.33 = 134.93: achieved.
  Number(C, kDev, "2017", 130);
  const absl::Time until = absl::Now() + absl::Seconds(10);
  for (;;) {
    ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
    if (Find(card, "dev-cycle")->status() == ev1::EVALUATION_STATUS_ACHIEVED) break;
    ASSERT_LT(absl::Now(), until) << "the observation never reached the scorecard";
    absl::SleepFor(absl::Milliseconds(20));
  }
  // The first scorecard that shows it computed dev-cycle afresh and nothing else.
  for (const auto& e : card.evaluations()) {
    EXPECT_EQ(e.cached(), e.target_id() != "dev-cycle") << e.target_id();
  }
  const ev1::Evaluation& dev = *Find(card, "dev-cycle");
  EXPECT_NEAR(dev.baseline_value(), 460.0 / 3, kEps);
  EXPECT_NEAR(dev.current_value(), 395.0 / 3, kEps);
  EXPECT_EQ(dev.panel_size(), 3);
  // The evaluation of 2016 does not read 2017: still served from the cache.
  ev1::Evaluation again;
  ASSERT_TRUE(Evaluate("dev-cycle", "2016", &again).ok());
  EXPECT_TRUE(again.cached());

  // A registry change (population membership may change) invalidates everything.
  {
    rv1::UpdateEnterpriseRequest request;
    request.mutable_enterprise()->set_code(D);
    request.mutable_enterprise()->set_key_enterprise(true);
    request.mutable_update_mask()->add_paths("key_enterprise");
    rv1::UpdateEnterpriseResponse response;
    ASSERT_TRUE(
        Call(registry_->stub(), &rv1::RegistryService::Stub::UpdateEnterprise, request, &response)
            .ok());
  }
  const int64_t before = dev.data_versions().registry_version();
  const absl::Time until2 = absl::Now() + absl::Seconds(10);
  for (;;) {
    ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
    if (Find(card, "dev-cycle")->data_versions().registry_version() > before) break;
    ASSERT_LT(absl::Now(), until2) << "the registry change never reached the scorecard";
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (const auto& e : card.evaluations()) EXPECT_FALSE(e.cached()) << e.target_id();
  // D is now a key manufacturer: platform-coverage's population grows to 4.
  EXPECT_EQ(Find(card, "platform-coverage")->coverage().population(), 4);
}

TEST_F(EvaluationE2eTest, ReplicasOnOneRedisShareTheCache) {
  ev1::Scorecard first;
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &first).ok());
  ev1::Evaluation e;
  ASSERT_TRUE(Evaluate("dev-cycle", "2016", &e).ok());
  ASSERT_FALSE(e.cached());

  auto replica = StartEvaluation();
  ev1::Scorecard second;
  ASSERT_TRUE(Scorecard(replica->stub(), "2017", &second).ok());
  ASSERT_EQ(second.evaluations_size(), first.evaluations_size());
  for (int i = 0; i < second.evaluations_size(); ++i) {
    EXPECT_TRUE(second.evaluations(i).cached()) << second.evaluations(i).target_id();
    EXPECT_EQ(second.evaluations(i).computed_time().seconds(),
              first.evaluations(i).computed_time().seconds());
    EXPECT_NEAR(second.evaluations(i).coverage().ratio(), first.evaluations(i).coverage().ratio(),
                kEps);
  }
  ev1::Evaluation from_replica;
  ASSERT_TRUE(Evaluate(replica->stub(), "dev-cycle", "2016", &from_replica).ok());
  EXPECT_TRUE(from_replica.cached());
  EXPECT_NEAR(from_replica.current_value(), e.current_value(), kEps);

  // A target changed through one replica is seen by the other.
  ev1::UpdateTargetRequest update;
  update.mutable_target()->set_id("dev-cycle");
  update.mutable_target()->set_title("Shorter development cycles");
  update.mutable_update_mask()->add_paths("title");
  ev1::UpdateTargetResponse updated;
  ASSERT_TRUE(Call(replica->stub(), &EvaluationStub::UpdateTarget, update, &updated).ok());
  EXPECT_EQ(GetTarget("dev-cycle").title(), "Shorter development cycles");
  // Its etag moved, so its results are computed again.
  ASSERT_TRUE(Evaluate("dev-cycle", "2016", &e).ok());
  EXPECT_FALSE(e.cached());
  EXPECT_EQ(e.data_versions().target_etag(), "r2");
}

// --- WatchScorecard ---------------------------------------------------------------------

TEST_F(EvaluationE2eTest, WatchPushesChangesAndCoalescesBursts) {
  ev1::WatchScorecardRequest request;
  request.set_period("2017");
  request.mutable_min_interval()->set_seconds(2);
  WatchReader watch(evaluation_->stub(), request);
  ASSERT_TRUE(watch.WaitFor(1, absl::Seconds(10)));
  {
    const auto m = watch.messages()[0].response;
    EXPECT_EQ(m.scorecard().evaluations_size(), 5);
    EXPECT_EQ(m.changed_target_ids_size(), 0);
    EXPECT_EQ(m.status().code(), 0);
  }

  // One observation: one message naming the one target it changed.
  Number(C, kDev, "2017", 130);
  ASSERT_TRUE(watch.WaitFor(2, absl::Seconds(10)));
  auto second = watch.messages()[1];
  EXPECT_THAT(second.response.changed_target_ids(), ElementsAre("dev-cycle"));
  EXPECT_EQ(Find(second.response.scorecard(), "dev-cycle")->status(),
            ev1::EVALUATION_STATUS_ACHIEVED);

  // A burst right after it (within min_interval): one message with the final state.
  for (int i = 0; i < 5; ++i) Number(C, kDev, "2017", 131 + i);
  Bool(C, kPlatform, "2015", true);
  ASSERT_TRUE(watch.WaitFor(3, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(2500));
  auto messages = watch.messages();
  ASSERT_EQ(messages.size(), 3u) << "the burst was not coalesced into one message";
  const auto& third = messages[2];
  EXPECT_GE(third.time - second.time, absl::Milliseconds(1950));
  EXPECT_THAT(third.response.changed_target_ids(),
              UnorderedElementsAre("dev-cycle", "platform-coverage"));
  EXPECT_NEAR(Find(third.response.scorecard(), "dev-cycle")->current_value(),
              (85 + 180 + 135) / 3.0, kEps);
  EXPECT_EQ(Find(third.response.scorecard(), "platform-coverage")->coverage().baseline_reporters(),
            3);

  // Data no target of the scorecard reads sends nothing.
  Number(A, "inventory_turnover", "2020", 5);
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(watch.messages().size(), 3u);

  // Archiving a target changes the scorecard: it leaves it.
  ev1::ArchiveTargetRequest archive;
  archive.set_id("energy-utilization");
  ev1::ArchiveTargetResponse archived;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  ASSERT_TRUE(watch.WaitFor(4, absl::Seconds(10)));
  const auto fourth = watch.messages()[3].response;
  EXPECT_THAT(fourth.changed_target_ids(), ElementsAre("energy-utilization"));
  EXPECT_EQ(fourth.scorecard().evaluations_size(), 4);
  watch.Cancel();
}

TEST_F(EvaluationE2eTest, WatchRejectsBadIntervalsAndEndsOnDrain) {
  ev1::WatchScorecardRequest request;
  request.set_period("2017");
  request.mutable_min_interval()->set_nanos(500000000);
  {
    WatchReader watch(evaluation_->stub(), request);
    auto end = watch.WaitEnd(absl::Seconds(5));
    ASSERT_TRUE(end.has_value());
    EXPECT_THAT(*end, GrpcInvalidField(Code::INVALID_ARGUMENT, "min_interval"));
  }
  request.mutable_min_interval()->set_seconds(7200);
  request.mutable_min_interval()->set_nanos(0);
  {
    WatchReader watch(evaluation_->stub(), request);
    auto end = watch.WaitEnd(absl::Seconds(5));
    ASSERT_TRUE(end.has_value());
    EXPECT_THAT(*end, GrpcInvalidField(Code::INVALID_ARGUMENT, "min_interval"));
  }
  request.set_period("2017-Q5");
  request.clear_min_interval();
  {
    WatchReader watch(evaluation_->stub(), request);
    auto end = watch.WaitEnd(absl::Seconds(5));
    ASSERT_TRUE(end.has_value());
    EXPECT_THAT(*end, GrpcInvalidField(Code::INVALID_ARGUMENT, "period"));
  }
  // A well-formed period of another granularity leaves every (annual) target out: an
  // empty scorecard, and the stream stays open.
  request.set_period("2017-Q2");
  {
    WatchReader watch(evaluation_->stub(), request);
    ASSERT_TRUE(watch.WaitFor(1, absl::Seconds(5)));
    EXPECT_EQ(watch.messages()[0].response.scorecard().evaluations_size(), 0);
    EXPECT_FALSE(watch.WaitEnd(absl::Milliseconds(300)).has_value());
  }
  request.set_period("2017");
  WatchReader watch(evaluation_->stub(), request);
  ASSERT_TRUE(watch.WaitFor(1, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  evaluation_->Shutdown();
  auto end = watch.WaitEnd(absl::Seconds(5));
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, GrpcIs(Code::UNAVAILABLE));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "the stream held the drain";
}

// --- CheckEnterprise --------------------------------------------------------------------

TEST_F(EvaluationE2eTest, CheckEnterpriseMetNotMetAndMissing) {
  ev1::CheckEnterpriseRequest request;
  request.set_indicator(kDev);
  request.set_baseline_period("2015");
  request.set_current_period("2017");
  request.mutable_rule()->mutable_relative_change()->set_change(-0.12);
  ev1::CheckEnterpriseResponse r;

  // A: 100 -> 85 is -15 %, the rule asks for at most 88: met.
  request.set_enterprise_code(A);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, request, &r).ok());
  EXPECT_NEAR(r.baseline_value(), 100, kEps);
  EXPECT_NEAR(r.current_value(), 85, kEps);
  EXPECT_NEAR(r.measured_change(), -0.15, kEps);
  EXPECT_NEAR(r.required(), 88, kEps);
  EXPECT_TRUE(r.meets());
  EXPECT_THAT(r.explanation(), HasSubstr(kDev));
  ASSERT_EQ(r.data_versions().ingest_versions_size(), 2);
  EXPECT_EQ(r.data_versions().ingest_versions(0).period(), "2015");
  EXPECT_GT(r.data_versions().ingest_versions(1).version(), 0);
  EXPECT_GT(r.computed_time().seconds(), 0);

  // B: 200 -> 180 is -10 %: not met.
  request.set_enterprise_code(B);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, request, &r).ok());
  EXPECT_NEAR(r.measured_change(), -0.1, kEps);
  EXPECT_NEAR(r.required(), 176, kEps);
  EXPECT_FALSE(r.meets());

  // D reported no 2015 value: not met, not an error.
  request.set_enterprise_code(D);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, request, &r).ok());
  EXPECT_FALSE(r.has_baseline_value());
  EXPECT_NEAR(r.current_value(), 120, kEps);
  EXPECT_FALSE(r.has_measured_change());
  EXPECT_FALSE(r.meets());
  EXPECT_THAT(r.explanation(), HasSubstr("2015"));

  // A boolean with an absolute rule: B's platform in 2017.
  ev1::CheckEnterpriseRequest platform = request;
  platform.set_enterprise_code(B);
  platform.set_indicator(kPlatform);
  platform.mutable_rule()->mutable_absolute()->set_comparison(ev1::COMPARISON_GE);
  platform.mutable_rule()->mutable_absolute()->set_value(1);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, platform, &r).ok());
  EXPECT_NEAR(r.current_value(), 1, kEps);
  EXPECT_TRUE(r.meets());

  // Errors.
  auto expect = [&](ev1::CheckEnterpriseRequest bad, const char* field) {
    EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, bad, &r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, field));
  };
  ev1::CheckEnterpriseRequest bad = request;
  bad.set_enterprise_code("91440100MA5XXXXXX0");
  expect(bad, "enterprise_code");
  bad = request;
  bad.set_baseline_period("2015-14");
  expect(bad, "baseline_period");
  bad = request;
  bad.set_current_period("2017-Q1");
  expect(bad, "current_period");
  bad = request;
  bad.clear_rule();
  expect(bad, "rule");
  bad = request;
  bad.mutable_rule()->mutable_relative_change()->set_change(0);
  expect(bad, "rule.relative_change.change");
  bad = request;
  bad.mutable_rule()->mutable_absolute()->set_value(1);  // comparison unspecified
  expect(bad, "rule.absolute.comparison");
  bad = request;
  bad.set_indicator("no_such_indicator");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, bad, &r),
              GrpcIs(Code::NOT_FOUND));
}

// --- targets ---------------------------------------------------------------------------

ev1::Target NewTarget(const std::string& id) {
  ev1::Target t;
  t.set_id(id);
  t.set_title("Median inventory turnover up by half");
  t.set_indicator("inventory_turnover");
  t.mutable_population()->set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  t.set_aggregation(ev1::AGGREGATION_MEDIAN);
  t.mutable_rule()->mutable_multiple()->set_multiple(1.5);
  t.set_baseline_period("2015");
  t.set_deadline_period("2018");
  t.set_coverage_floor(0.2);
  return t;
}

TEST_F(EvaluationE2eTest, TargetsAreSeededOnceAndCreatedIdempotently) {
  ev1::Target seeded = GetTarget("dev-cycle");
  EXPECT_EQ(seeded.indicator(), kDev);
  EXPECT_EQ(seeded.rule().relative_change().change(), -0.12);
  EXPECT_EQ(seeded.etag(), "r1");
  EXPECT_GT(seeded.create_time().seconds(), 0);

  ev1::CreateTargetRequest create;
  *create.mutable_target() = NewTarget("inventory-median");
  create.set_request_id("7f7a0b52-0c1e-4d5e-9b61-1c1d3f6a9e01");
  ev1::CreateTargetResponse created;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &created).ok());
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.target().etag(), "r1");
  EXPECT_FALSE(created.target().archived());
  // A retry with the request id replays the first response.
  ev1::CreateTargetResponse replayed;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &replayed).ok());
  EXPECT_TRUE(replayed.created());
  // The same content without a request id: OK, created=false.
  create.clear_request_id();
  ev1::CreateTargetResponse again;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.target().create_time().seconds(), created.target().create_time().seconds());
  // Different content under the id: ALREADY_EXISTS.
  create.mutable_target()->set_title("Something else");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &again),
              GrpcIs(Code::ALREADY_EXISTS));
  // The request id reused for another request.
  create.set_request_id("7f7a0b52-0c1e-4d5e-9b61-1c1d3f6a9e01");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &again),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));

  // The new target joins the scorecard and is evaluated (on-demand columns).
  ev1::Scorecard card;
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
  ASSERT_NE(Find(card, "inventory-median"), nullptr);
  EXPECT_EQ(Find(card, "inventory-median")->coverage().floor(), 0.2);

  // A restart does not seed again: the edit survives.
  ev1::ArchiveTargetRequest archive;
  archive.set_id("dev-cycle");
  ev1::ArchiveTargetResponse archived;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  evaluation_.reset();
  evaluation_ = StartEvaluation();
  EXPECT_TRUE(GetTarget("dev-cycle").archived());
}

TEST_F(EvaluationE2eTest, CreateTargetErrors) {
  ev1::CreateTargetResponse r;
  auto create = [&](const ev1::Target& t) {
    ev1::CreateTargetRequest request;
    *request.mutable_target() = t;
    return Call(evaluation_->stub(), &EvaluationStub::CreateTarget, request, &r);
  };
  auto invalid = [&](const std::function<void(ev1::Target&)>& change, const char* field) {
    ev1::Target t = NewTarget("bad-target");
    change(t);
    EXPECT_THAT(create(t), GrpcInvalidField(Code::INVALID_ARGUMENT, field)) << field;
  };
  invalid([](ev1::Target& t) { t.set_id("Bad_Id"); }, "target.id");
  invalid([](ev1::Target& t) { t.set_id(""); }, "target.id");
  invalid([](ev1::Target& t) { t.set_title(" "); }, "target.title");
  invalid([](ev1::Target& t) { t.set_baseline_period("2015-1"); }, "target.baseline_period");
  invalid([](ev1::Target& t) { t.set_deadline_period(""); }, "target.deadline_period");
  invalid([](ev1::Target& t) { t.set_deadline_period("2015"); }, "target.deadline_period");
  invalid([](ev1::Target& t) { t.set_deadline_period("2018-Q4"); }, "target.deadline_period");
  invalid([](ev1::Target& t) { t.clear_rule(); }, "target.rule");
  invalid([](ev1::Target& t) { t.mutable_rule()->mutable_multiple()->set_multiple(0); },
          "target.rule.multiple.multiple");
  invalid([](ev1::Target& t) { t.mutable_rule()->mutable_relative_change()->set_change(0); },
          "target.rule.relative_change.change");
  invalid([](ev1::Target& t) { t.mutable_rule()->mutable_relative_change()->set_change(-1); },
          "target.rule.relative_change.change");
  invalid([](ev1::Target& t) { t.mutable_rule()->mutable_absolute()->set_value(3); },
          "target.rule.absolute.comparison");
  invalid([](ev1::Target& t) { t.set_aggregation(ev1::AGGREGATION_UNSPECIFIED); },
          "target.aggregation");
  invalid([](ev1::Target& t) { t.set_aggregation(ev1::AGGREGATION_SHARE_TRUE); },
          "target.aggregation");  // a number indicator
  invalid([](ev1::Target& t) { t.set_coverage_floor(1.5); }, "target.coverage_floor");
  invalid([](ev1::Target& t) { t.set_coverage_floor(-0.1); }, "target.coverage_floor");
  invalid([](ev1::Target& t) { t.set_indicator(""); }, "target.indicator");

  // An indicator ingest does not know, or one it retired: FAILED_PRECONDITION.
  ev1::Target unknown = NewTarget("unknown-indicator");
  unknown.set_indicator("no_such_indicator");
  EXPECT_THAT(create(unknown), GrpcIs(Code::FAILED_PRECONDITION));
  {
    iv1::CreateIndicatorRequest request;
    request.mutable_indicator()->set_id("legacy_metric");
    request.mutable_indicator()->set_title("A retired metric");
    request.mutable_indicator()->set_value_type(iv1::VALUE_TYPE_NUMBER);
    iv1::CreateIndicatorResponse response;
    ASSERT_TRUE(
        Call(ingest_->stub(), &iv1::IngestService::Stub::CreateIndicator, request, &response).ok());
    iv1::RetireIndicatorRequest retire;
    retire.set_id("legacy_metric");
    iv1::RetireIndicatorResponse retired;
    ASSERT_TRUE(
        Call(ingest_->stub(), &iv1::IngestService::Stub::RetireIndicator, retire, &retired).ok());
  }
  ev1::Target retired = NewTarget("retired-indicator");
  retired.set_indicator("legacy_metric");
  EXPECT_THAT(create(retired), GrpcIs(Code::FAILED_PRECONDITION));
  // Nothing of the above was stored.
  ev1::ListTargetsRequest list;
  list.set_include_archived(true);
  ev1::ListTargetsResponse listed;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ListTargets, list, &listed).ok());
  EXPECT_EQ(listed.targets_size(), 5);
}

TEST_F(EvaluationE2eTest, UpdateAndArchiveTargets) {
  ev1::UpdateTargetRequest update;
  update.mutable_target()->set_id("dev-cycle");
  update.mutable_target()->set_title("Development cycle");
  update.mutable_target()->mutable_rule()->mutable_relative_change()->set_change(-0.2);
  update.mutable_update_mask()->add_paths("title");
  update.mutable_update_mask()->add_paths("rule");
  update.set_etag("r1");
  ev1::UpdateTargetResponse r;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, update, &r).ok());
  EXPECT_EQ(r.target().title(), "Development cycle");
  EXPECT_EQ(r.target().rule().relative_change().change(), -0.2);
  EXPECT_EQ(r.target().etag(), "r2");
  EXPECT_EQ(r.target().indicator(), kDev);
  EXPECT_GE(r.target().update_time().seconds(), r.target().create_time().seconds());
  // The new rule applies: 150 x 0.8 = 120 is the target value now.
  ev1::Evaluation e;
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e).ok());
  EXPECT_NEAR(e.target_value(), 120, kEps);

  // A stale etag: ABORTED.
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, update, &r),
              GrpcIs(Code::ABORTED));
  auto invalid = [&](const std::function<void(ev1::UpdateTargetRequest&)>& change,
                     const char* field) {
    ev1::UpdateTargetRequest bad = update;
    bad.clear_etag();
    change(bad);
    EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, bad, &r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, field))
        << field;
  };
  invalid([](ev1::UpdateTargetRequest& u) { u.clear_update_mask(); }, "update_mask");
  invalid([](ev1::UpdateTargetRequest& u) { u.mutable_update_mask()->add_paths("id"); },
          "update_mask");
  invalid([](ev1::UpdateTargetRequest& u) { u.mutable_update_mask()->add_paths("indicator"); },
          "update_mask");
  invalid([](ev1::UpdateTargetRequest& u) { u.mutable_update_mask()->add_paths("etag"); },
          "update_mask");
  invalid(
      [](ev1::UpdateTargetRequest& u) {
        u.mutable_target()->mutable_rule()->mutable_multiple()->set_multiple(-1);
      },
      "target.rule.multiple.multiple");
  invalid(
      [](ev1::UpdateTargetRequest& u) {
        u.mutable_update_mask()->add_paths("aggregation");
        u.mutable_target()->set_aggregation(ev1::AGGREGATION_COUNT_TRUE);
      },
      "target.aggregation");
  invalid(
      [](ev1::UpdateTargetRequest& u) {
        u.mutable_update_mask()->add_paths("baseline_period");
        u.mutable_target()->set_baseline_period("2019");
      },
      "target.deadline_period");
  invalid([](ev1::UpdateTargetRequest& u) { u.mutable_target()->set_id(""); }, "target.id");
  ev1::UpdateTargetRequest missing = update;
  missing.clear_etag();
  missing.mutable_target()->set_id("no-such-target");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, missing, &r),
              GrpcIs(Code::NOT_FOUND));

  // A retried update with its request id replays the first response (not ABORTED by
  // its own first attempt's etag); the id reused for another update is refused.
  ev1::UpdateTargetRequest with_id = update;
  with_id.set_etag("r2");
  with_id.set_request_id("0b5e7c1a-3f1d-4b8e-9a51-6c2d7e8f9a10");
  with_id.mutable_target()->set_title("Development cycle, again");
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, with_id, &r).ok());
  EXPECT_EQ(r.target().etag(), "r3");
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, with_id, &r).ok());
  EXPECT_EQ(r.target().etag(), "r3");
  with_id.mutable_target()->set_title("Another title");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, with_id, &r),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));

  // Archive: with a stale etag ABORTED; then archived; again unchanged.
  ev1::ArchiveTargetRequest archive;
  archive.set_id("dev-cycle");
  archive.set_etag("r1");
  ev1::ArchiveTargetResponse archived;
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived),
              GrpcIs(Code::ABORTED));
  archive.set_etag("r3");
  archive.set_request_id("5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  EXPECT_TRUE(archived.target().archived());
  EXPECT_EQ(archived.target().etag(), "r4");
  // The retry replays; the request id reused for another target is refused.
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  EXPECT_EQ(archived.target().etag(), "r4");
  ev1::ArchiveTargetRequest reused = archive;
  reused.set_id("platform-coverage");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, reused, &archived),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
  archive.clear_etag();
  archive.clear_request_id();
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  EXPECT_EQ(archived.target().etag(), "r4");
  archive.set_id("no-such-target");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived),
              GrpcIs(Code::NOT_FOUND));
  archive.set_id("");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "id"));
  // An archived target cannot be updated, leaves the scorecard, can still be evaluated.
  update.clear_etag();
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::UpdateTarget, update, &r),
              GrpcIs(Code::FAILED_PRECONDITION));
  ev1::Scorecard card;
  ASSERT_TRUE(Scorecard(evaluation_->stub(), "2017", &card).ok());
  EXPECT_EQ(Find(card, "dev-cycle"), nullptr);
  EXPECT_EQ(card.evaluations_size(), 4);
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e).ok());
  EXPECT_EQ(e.data_versions().target_etag(), "r4");

  // GetTarget errors.
  ev1::GetTargetRequest get;
  ev1::GetTargetResponse got;
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::GetTarget, get, &got),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "id"));
  get.set_id("no-such-target");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::GetTarget, get, &got),
              GrpcIs(Code::NOT_FOUND));
}

TEST_F(EvaluationE2eTest, ListTargetsPagesInIdOrder) {
  ev1::ArchiveTargetRequest archive;
  archive.set_id("energy-utilization");
  ev1::ArchiveTargetResponse archived;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());

  auto walk = [&](bool include_archived, int page_size) {
    std::vector<std::string> ids;
    ev1::ListTargetsRequest request;
    request.set_include_archived(include_archived);
    request.set_page_size(page_size);
    for (int pages = 0; pages < 20; ++pages) {
      ev1::ListTargetsResponse response;
      EXPECT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ListTargets, request, &response).ok());
      EXPECT_LE(response.targets_size(), page_size);
      for (const auto& t : response.targets()) ids.push_back(t.id());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
      // A target created mid-walk after the cursor appears; nothing repeats.
      if (pages == 0 && include_archived) {
        ev1::CreateTargetRequest create;
        *create.mutable_target() = NewTarget("zz-late");
        ev1::CreateTargetResponse created;
        EXPECT_TRUE(
            Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &created).ok());
      }
    }
    return ids;
  };
  EXPECT_THAT(walk(false, 2), ElementsAre("dev-cycle", "industry-cloud-adoption",
                                          "inventory-turnover", "platform-coverage"));
  EXPECT_THAT(walk(true, 2),
              ElementsAre("dev-cycle", "energy-utilization", "industry-cloud-adoption",
                          "inventory-turnover", "platform-coverage", "zz-late"));

  ev1::ListTargetsRequest bad;
  ev1::ListTargetsResponse r;
  bad.set_page_size(1001);
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ListTargets, bad, &r),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_size"));
  bad.set_page_size(-1);
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ListTargets, bad, &r),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_size"));
  bad.set_page_size(0);
  bad.set_page_token("not a token");
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ListTargets, bad, &r),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));
  // A token of another query (include_archived differs).
  ev1::ListTargetsRequest first;
  first.set_page_size(1);
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ListTargets, first, &r).ok());
  bad.set_page_token(r.next_page_token());
  bad.set_include_archived(true);
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::ListTargets, bad, &r),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));
}

// --- dependencies away, gauges ----------------------------------------------------------

TEST_F(EvaluationE2eTest, IngestAndRegistryAwayServeWhatIsLoaded) {
  ev1::Evaluation e;
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e).ok());
  registry_->Shutdown();
  ingest_.reset();
  // Loaded columns keep serving (cached or computed); a column never loaded cannot be.
  ASSERT_TRUE(Evaluate("dev-cycle", "2017", &e).ok());
  EXPECT_TRUE(e.cached());
  ASSERT_TRUE(Evaluate("platform-coverage", "2016", &e).ok());
  const absl::Time start = absl::Now();
  EXPECT_THAT(Evaluate("dev-cycle", "2019", &e), GrpcIs(Code::UNAVAILABLE));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ev1::CheckEnterpriseRequest check;
  check.set_enterprise_code(A);
  check.set_indicator(kDev);
  check.set_baseline_period("2015");
  check.set_current_period("2017");
  check.mutable_rule()->mutable_relative_change()->set_change(-0.12);
  ev1::CheckEnterpriseResponse checked;
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CheckEnterprise, check, &checked),
              GrpcIs(Code::UNAVAILABLE));
  // Creating a target needs ingest's catalogue.
  ev1::CreateTargetRequest create;
  *create.mutable_target() = NewTarget("needs-ingest");
  ev1::CreateTargetResponse created;
  EXPECT_THAT(Call(evaluation_->stub(), &EvaluationStub::CreateTarget, create, &created),
              GrpcIs(Code::UNAVAILABLE));
  // Still SERVING: the data it has is served.
  EXPECT_EQ(registry::e2e::CheckHealth(evaluation_->channel(), "", absl::Seconds(1)),
            registry::e2e::HealthStatus::kServing);
}

TEST_F(EvaluationE2eTest, TargetGaugesOnMetrics) {
  // dev-cycle's latest period with data is 2017: progress 17.5/18 overall, status 2 (on
  // track), coverage 3/5; Guangdong has coverage 3/4.
  std::string body;
  const absl::Time until = absl::Now() + absl::Seconds(15);
  while (absl::Now() < until) {
    body = HttpGet(evaluation_->metrics_port(), "/metrics");
    if (absl::StrContains(body, "iplus_target_status{province=\"all\",target=\"dev-cycle\"}")) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(body, HasSubstr("iplus_target_status{province=\"all\",target=\"dev-cycle\"} 2\n"));
  EXPECT_THAT(
      body, HasSubstr("iplus_target_coverage_ratio{province=\"all\",target=\"dev-cycle\"} 0.6\n"));
  EXPECT_THAT(body, HasSubstr("iplus_target_coverage_ratio{province=\"440000\",target=\"dev-"
                              "cycle\"} 0.75\n"));
  EXPECT_THAT(body, HasSubstr("iplus_target_progress_ratio{province=\"440000\",target=\"dev-"
                              "cycle\"} 0.97222"));
  EXPECT_THAT(body, HasSubstr("iplus_target_status{province=\"all\",target=\"platform-coverage\"} "
                              "1\n"));
  // No data at all: no series.
  EXPECT_THAT(body, ::testing::Not(HasSubstr("target=\"energy-utilization\"")));
  EXPECT_THAT(body, HasSubstr("iplus_evaluation_feed_ready 1"));
  EXPECT_THAT(body, HasSubstr("iplus_evaluation_cache_requests_total{kind=\"breakdown\""));
  EXPECT_THAT(body, HasSubstr("grpc_server_handled_total"));
  // Archived: its series go.
  ev1::ArchiveTargetRequest archive;
  archive.set_id("dev-cycle");
  ev1::ArchiveTargetResponse archived;
  ASSERT_TRUE(Call(evaluation_->stub(), &EvaluationStub::ArchiveTarget, archive, &archived).ok());
  const absl::Time until2 = absl::Now() + absl::Seconds(15);
  while (absl::Now() < until2) {
    body = HttpGet(evaluation_->metrics_port(), "/metrics");
    if (!absl::StrContains(body, "target=\"dev-cycle\"")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(body, ::testing::Not(HasSubstr("target=\"dev-cycle\"")));
  EXPECT_THAT(body, HasSubstr("target=\"platform-coverage\""));
}

// Not ready until the registry answers; a seeded target whose indicator ingest does not
// know is FAILED_PRECONDITION and stays out of the scorecard.
TEST(EvaluationStartTest, NotServingUntilLoadedAndUnknownIndicators) {
  test::RedisServer redis;
  IPLUS_ASSERT_OK(redis.Start());
  const int registry_port = test::FreePort();
  auto ingest_registry = std::make_unique<RegistryInstance>(redis.port());
  IPLUS_ASSERT_OK(ingest_registry->start_status());
  IngestInstance ingest(redis.port(), ingest_registry->port());
  IPLUS_ASSERT_OK(ingest.start_status());
  ASSERT_TRUE(ingest.WaitReady());

  const std::string targets = ::testing::TempDir() + "/evaluation_start_targets.json";
  {
    std::ofstream out(targets);
    out << R"([{"id": "dev-cycle", "title": "Dev cycle", "indicator": "product_dev_cycle_days",
               "aggregation": "AGGREGATION_MEAN", "rule": {"relativeChange": {"change": -0.12}},
               "baselinePeriod": "2015", "deadlinePeriod": "2018"},
              {"id": "ghost", "title": "Not an ingest indicator", "indicator": "ghost_metric",
               "aggregation": "AGGREGATION_MEAN", "rule": {"multiple": {"multiple": 2}},
               "baselinePeriod": "2015", "deadlinePeriod": "2018"}])";
  }
  // The registry this evaluation follows is not up yet.
  EvaluationInstance evaluation(redis.port(), registry_port, ingest.port(), targets);
  IPLUS_ASSERT_OK(evaluation.start_status());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(registry::e2e::CheckHealth(evaluation.channel(), "", absl::Seconds(1)),
            registry::e2e::HealthStatus::kNotServing);
  ev1::EvaluateRequest request;
  request.set_target_id("dev-cycle");
  request.set_period("2017");
  ev1::EvaluateResponse response;
  grpc::Status s = Call(evaluation.stub(), &EvaluationStub::Evaluate, request, &response);
  EXPECT_THAT(s, GrpcIs(Code::UNAVAILABLE));
  EXPECT_THAT(s.error_message(), HasSubstr("loading"));

  RegistryInstance registry(redis.port(), registry_port);
  IPLUS_ASSERT_OK(registry.start_status());
  ASSERT_TRUE(evaluation.WaitServing());
  ASSERT_TRUE(Call(evaluation.stub(), &EvaluationStub::Evaluate, request, &response).ok());
  request.set_target_id("ghost");
  EXPECT_THAT(Call(evaluation.stub(), &EvaluationStub::Evaluate, request, &response),
              GrpcIs(Code::FAILED_PRECONDITION));
  ev1::GetScorecardRequest card_request;
  card_request.set_period("2017");
  ev1::GetScorecardResponse card;
  ASSERT_TRUE(Call(evaluation.stub(), &EvaluationStub::GetScorecard, card_request, &card).ok());
  ASSERT_EQ(card.scorecard().evaluations_size(), 1);
  EXPECT_EQ(card.scorecard().evaluations(0).target_id(), "dev-cycle");
  // A bad seed file stops the start.
  const std::string bad = ::testing::TempDir() + "/evaluation_bad_targets.json";
  {
    std::ofstream out(bad);
    out << R"([{"id": "Bad Id", "indicator": "x", "baselinePeriod": "2015"}])";
  }
  EvaluationInstance refused(redis.port(), registry_port, ingest.port(), bad);
  EXPECT_THAT(refused.start_status(),
              test::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--targets_file")));
}

}  // namespace
}  // namespace iplus::evaluation::e2e
