// End-to-end tests of the ingestion service: the real wiring (App) serving real gRPC on
// loopback, backed by a real redis-server, checking enterprises against the real registry
// (also an App, sharing the redis-server: the two services' keys differ). Enterprises
// are registered through the registry's gRPC API, as in production.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/ingest_e2e_util.h"

namespace iplus::ingest::e2e {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kEnergy[] = "energy_utilization_rate";   // number, %, [0, 100], plausible 10..99
constexpr char kTurnover[] = "inventory_turnover";      // number, > 0, plausible 0.1..100
constexpr char kCloud[] = "industry_cloud";             // boolean
constexpr char kDevCycle[] = "product_dev_cycle_days";  // number, > 0, lower is better

// The current year of the reporting calendar (UTC+8).
int ThisYear() {
  return static_cast<int>(absl::ToCivilYear(absl::Now(), absl::FixedTimeZone(8 * 3600)).year());
}

bool HasFlag(const google::protobuf::RepeatedPtrField<v1::OutlierFlag>& flags,
             v1::OutlierKind kind) {
  return std::any_of(flags.begin(), flags.end(), [&](const v1::OutlierFlag& f) {
    return f.kind() == kind && std::abs(f.score()) > f.threshold();
  });
}

class IngestE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    registry_ = std::make_unique<RegistryInstance>(redis_.port());
    IPLUS_ASSERT_OK(registry_->start_status());
    ingest_ = std::make_unique<IngestInstance>(redis_.port(), registry_->port());
    IPLUS_ASSERT_OK(ingest_->start_status());
    ASSERT_TRUE(ingest_->WaitReady()) << "the ingestion service never served its catalogue";
  }

  IngestStub& stub() { return ingest_->stub(); }

  // Reports and expects the call to succeed with one result per observation.
  std::vector<v1::ItemResult> MustReport(const std::vector<v1::Observation>& observations,
                                         const std::string& request_id = "") {
    v1::ReportObservationsResponse response;
    grpc::Status status = Report(stub(), observations, &response, request_id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.results_size(), static_cast<int>(observations.size()));
    for (int i = 0; i < response.results_size(); ++i) EXPECT_EQ(response.results(i).index(), i);
    return {response.results().begin(), response.results().end()};
  }

  v1::ItemResult ReportOne(const v1::Observation& o) {
    auto results = MustReport({o});
    return results.empty() ? v1::ItemResult() : results[0];
  }

  std::vector<int64_t> DataVersions(const std::vector<std::pair<std::string, std::string>>& keys,
                                    int64_t* ingest_version = nullptr) {
    v1::GetDataVersionsRequest request;
    for (const auto& [indicator, period] : keys) {
      auto* k = request.add_keys();
      k->set_indicator(indicator);
      k->set_period(period);
    }
    v1::GetDataVersionsResponse response;
    grpc::Status status = Call(stub(), &IngestStub::GetDataVersions, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<int64_t> out;
    for (const auto& v : response.versions()) out.push_back(v.version());
    if (ingest_version != nullptr) *ingest_version = response.ingest_version();
    return out;
  }

  // Every change after `after`, read in pages of `page_size`.
  std::vector<v1::Change> AllChanges(int64_t after, int page_size) {
    std::vector<v1::Change> out;
    for (int guard = 0; guard < 100000; ++guard) {
      v1::ListChangesRequest request;
      request.set_after_version(after);
      request.set_page_size(page_size);
      v1::ListChangesResponse response;
      grpc::Status status = Call(stub(), &IngestStub::ListChanges, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_FALSE(response.truncated());
      if (!status.ok() || response.changes().empty()) break;
      EXPECT_LE(response.changes_size(), page_size);
      for (const auto& c : response.changes()) {
        EXPECT_GT(c.version(), after);
        after = c.version();
        out.push_back(c);
      }
    }
    return out;
  }

  test::RedisServer redis_;
  std::unique_ptr<RegistryInstance> registry_;
  std::unique_ptr<IngestInstance> ingest_;
};

// ---------------------------------------------------------------------------------------
// Catalogue.

TEST_F(IngestE2eTest, ListIndicatorsServesTheBuiltinsInIdOrderAndPages) {
  v1::ListIndicatorsRequest request;
  v1::ListIndicatorsResponse response;
  ASSERT_TRUE(Call(stub(), &IngestStub::ListIndicators, request, &response).ok());
  std::vector<std::string> ids;
  for (const auto& i : response.indicators()) {
    ids.push_back(i.id());
    EXPECT_EQ(i.status(), v1::INDICATOR_STATUS_ACTIVE) << i.id();
    EXPECT_NE(i.value_type(), v1::VALUE_TYPE_UNSPECIFIED) << i.id();
    EXPECT_FALSE(i.title().empty()) << i.id();
  }
  EXPECT_THAT(ids, ElementsAre(kEnergy, kCloud, "innovation_platform", kTurnover, kDevCycle));
  EXPECT_EQ(response.next_page_token(), "");
  EXPECT_EQ(response.indicators(0).unit(), "%");
  EXPECT_EQ(response.indicators(1).value_type(), v1::VALUE_TYPE_BOOLEAN);
  EXPECT_FALSE(response.indicators(4).higher_is_better());

  // Pages of two: 2 + 2 + 1, each id exactly once, the last page without a token.
  std::vector<std::string> paged;
  std::vector<int> sizes;
  request.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    v1::ListIndicatorsResponse r;
    ASSERT_TRUE(Call(stub(), &IngestStub::ListIndicators, request, &r).ok());
    sizes.push_back(r.indicators_size());
    for (const auto& i : r.indicators()) paged.push_back(i.id());
    if (r.next_page_token().empty()) break;
    request.set_page_token(r.next_page_token());
  }
  EXPECT_THAT(sizes, ElementsAre(2, 2, 1));
  EXPECT_EQ(paged, ids);

  v1::ListIndicatorsRequest bad;
  bad.set_page_size(1001);
  EXPECT_THAT(Call(stub(), &IngestStub::ListIndicators, bad, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  bad.set_page_size(-1);
  EXPECT_THAT(Call(stub(), &IngestStub::ListIndicators, bad, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  bad.set_page_size(0);
  bad.set_page_token("not a token!");
  EXPECT_THAT(Call(stub(), &IngestStub::ListIndicators, bad, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
}

TEST_F(IngestE2eTest, GetIndicatorFindsBuiltinsAndReportsUnknownIds) {
  v1::GetIndicatorRequest request;
  request.set_id(kDevCycle);
  v1::GetIndicatorResponse response;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetIndicator, request, &response).ok());
  EXPECT_EQ(response.indicator().id(), kDevCycle);
  EXPECT_EQ(response.indicator().unit(), "days");
  EXPECT_EQ(response.indicator().granularity(), v1::GRANULARITY_YEAR);
  EXPECT_TRUE(response.indicator().range().has_min());

  request.set_id("no_such_indicator");
  EXPECT_THAT(Call(stub(), &IngestStub::GetIndicator, request, &response),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  request.set_id("");
  EXPECT_THAT(Call(stub(), &IngestStub::GetIndicator, request, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "id"));
}

v1::Indicator DigitalRdShare() {
  v1::Indicator i;
  i.set_id("digital_rd_share");
  i.set_title("Share of R&D on digital design tools");
  i.set_unit("%");
  i.set_value_type(v1::VALUE_TYPE_NUMBER);
  i.mutable_range()->set_min(0);
  i.mutable_range()->set_min_inclusive(true);
  i.mutable_range()->set_max(100);
  i.mutable_range()->set_max_inclusive(true);
  i.set_granularity(v1::GRANULARITY_QUARTER);
  i.set_higher_is_better(true);
  i.set_description("Quarterly share of R&D work done with digital design tools.");
  return i;
}

TEST_F(IngestE2eTest, CreateIndicatorIsIdempotentOnItsIdAndNamesBadFields) {
  v1::CreateIndicatorRequest request;
  *request.mutable_indicator() = DigitalRdShare();
  v1::CreateIndicatorResponse created;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, request, &created).ok());
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.indicator().id(), "digital_rd_share");
  EXPECT_EQ(created.indicator().status(), v1::INDICATOR_STATUS_ACTIVE);
  EXPECT_EQ(created.indicator().granularity(), v1::GRANULARITY_QUARTER);
  EXPECT_GT(created.indicator().create_time().seconds(), 0);

  // The same content again: OK, created=false, the stored indicator.
  v1::CreateIndicatorResponse again;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, request, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.indicator().create_time().seconds(), created.indicator().create_time().seconds());

  // Visible to reads and reports at once.
  v1::GetIndicatorRequest get;
  get.set_id("digital_rd_share");
  v1::GetIndicatorResponse got;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetIndicator, get, &got).ok());
  EXPECT_EQ(got.indicator().title(), DigitalRdShare().title());

  // Different content under the same id.
  v1::CreateIndicatorRequest other = request;
  other.mutable_indicator()->set_title("Another title");
  EXPECT_THAT(Call(stub(), &IngestStub::CreateIndicator, other, &again),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS));
  other = request;
  other.mutable_indicator()->set_granularity(v1::GRANULARITY_YEAR);
  EXPECT_THAT(Call(stub(), &IngestStub::CreateIndicator, other, &again),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS));

  // Malformed definitions name the field.
  struct Case {
    const char* name;
    std::function<void(v1::Indicator*)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"upper-case id", [](v1::Indicator* i) { i->set_id("Digital-Share"); }, "indicator.id"},
      {"empty id", [](v1::Indicator* i) { i->set_id(""); }, "indicator.id"},
      {"65-character id", [](v1::Indicator* i) { i->set_id(std::string(65, 'a')); },
       "indicator.id"},
      {"no title", [](v1::Indicator* i) { i->set_title(" "); }, "indicator.title"},
      {"unspecified value type",
       [](v1::Indicator* i) {
         i->set_id("fresh_one");
         i->set_value_type(v1::VALUE_TYPE_UNSPECIFIED);
       },
       "indicator.value_type"},
      {"unknown granularity",
       [](v1::Indicator* i) {
         i->set_id("fresh_two");
         i->set_granularity(static_cast<v1::Granularity>(9));
       },
       "indicator.granularity"},
      {"range on a boolean",
       [](v1::Indicator* i) {
         i->set_id("fresh_three");
         i->set_value_type(v1::VALUE_TYPE_BOOLEAN);
         i->set_unit("");
       },
       "indicator.range"},
      {"min above max",
       [](v1::Indicator* i) {
         i->set_id("fresh_four");
         i->mutable_range()->set_min(101);
       },
       "indicator.range"},
  };
  for (const auto& c : cases) {
    v1::CreateIndicatorRequest bad = request;
    c.mutate(bad.mutable_indicator());
    EXPECT_THAT(Call(stub(), &IngestStub::CreateIndicator, bad, &again),
                GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, c.field))
        << c.name;
  }
  // Nothing of the rejected definitions was stored.
  v1::ListIndicatorsRequest list;
  list.set_include_retired(true);
  v1::ListIndicatorsResponse listed;
  ASSERT_TRUE(Call(stub(), &IngestStub::ListIndicators, list, &listed).ok());
  EXPECT_THAT(listed.indicators(), SizeIs(6));
}

TEST_F(IngestE2eTest, CreateIndicatorWithoutGranularityIsAnnual) {
  v1::CreateIndicatorRequest request;
  *request.mutable_indicator() = DigitalRdShare();
  request.mutable_indicator()->set_id("digital_rd_share_yearly");
  request.mutable_indicator()->clear_granularity();
  v1::CreateIndicatorResponse created;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, request, &created).ok());
  EXPECT_EQ(created.indicator().granularity(), v1::GRANULARITY_YEAR);
}

TEST_F(IngestE2eTest, CreateIndicatorReplaysItsRequestId) {
  v1::CreateIndicatorRequest request;
  *request.mutable_indicator() = DigitalRdShare();
  request.set_request_id("4d9c7e0a-9a51-4f3e-8a36-7f1c2b8e0d11");
  v1::CreateIndicatorResponse first;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, request, &first).ok());
  EXPECT_TRUE(first.created());
  // The retry gets the first response back, created=true included.
  v1::CreateIndicatorResponse replayed;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, request, &replayed).ok());
  EXPECT_TRUE(replayed.created());
  EXPECT_EQ(replayed.SerializeAsString(), first.SerializeAsString());
  // Without the request id, the natural key answers created=false.
  v1::CreateIndicatorRequest plain = request;
  plain.clear_request_id();
  v1::CreateIndicatorResponse natural;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, plain, &natural).ok());
  EXPECT_FALSE(natural.created());
  // The same request id for another request.
  v1::CreateIndicatorRequest other = request;
  other.mutable_indicator()->set_id("other_share");
  EXPECT_THAT(Call(stub(), &IngestStub::CreateIndicator, other, &natural),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "request_id"));
  request.set_request_id("has space");
  EXPECT_THAT(Call(stub(), &IngestStub::CreateIndicator, request, &natural),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "request_id"));
}

TEST_F(IngestE2eTest, RetiredIndicatorStaysReadableAndRejectsNewReports) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  v1::CreateIndicatorRequest create;
  *create.mutable_indicator() = DigitalRdShare();
  v1::CreateIndicatorResponse created;
  ASSERT_TRUE(Call(stub(), &IngestStub::CreateIndicator, create, &created).ok());
  EXPECT_THAT(ReportOne(Number("q1", CodeN(1), "digital_rd_share", "2020-Q1", 41.5)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));

  v1::RetireIndicatorRequest retire;
  retire.set_id("digital_rd_share");
  retire.set_reason("replaced by a yearly indicator");
  retire.set_request_id("retire-1");
  v1::RetireIndicatorResponse retired;
  ASSERT_TRUE(Call(stub(), &IngestStub::RetireIndicator, retire, &retired).ok());
  EXPECT_EQ(retired.indicator().status(), v1::INDICATOR_STATUS_RETIRED);
  EXPECT_EQ(retired.indicator().retire_reason(), "replaced by a yearly indicator");
  // Replayed: the same response.
  v1::RetireIndicatorResponse replayed;
  ASSERT_TRUE(Call(stub(), &IngestStub::RetireIndicator, retire, &replayed).ok());
  EXPECT_EQ(replayed.SerializeAsString(), retired.SerializeAsString());
  // Retiring again without a request id: unchanged.
  retire.clear_request_id();
  retire.set_reason("another reason");
  v1::RetireIndicatorResponse twice;
  ASSERT_TRUE(Call(stub(), &IngestStub::RetireIndicator, retire, &twice).ok());
  EXPECT_EQ(twice.indicator().retire_reason(), "replaced by a yearly indicator");
  EXPECT_EQ(twice.indicator().update_time().seconds(), retired.indicator().update_time().seconds());

  retire.set_id("no_such_indicator");
  EXPECT_THAT(Call(stub(), &IngestStub::RetireIndicator, retire, &twice),
              GrpcIs(grpc::StatusCode::NOT_FOUND));

  // Listed only with include_retired.
  v1::ListIndicatorsRequest list;
  v1::ListIndicatorsResponse listed;
  ASSERT_TRUE(Call(stub(), &IngestStub::ListIndicators, list, &listed).ok());
  EXPECT_THAT(listed.indicators(), SizeIs(5));
  list.set_include_retired(true);
  ASSERT_TRUE(Call(stub(), &IngestStub::ListIndicators, list, &listed).ok());
  ASSERT_THAT(listed.indicators(), SizeIs(6));
  EXPECT_EQ(listed.indicators(0).id(), "digital_rd_share");
  EXPECT_EQ(listed.indicators(0).status(), v1::INDICATOR_STATUS_RETIRED);

  // New reports, also resends, are rejected; what was stored stays readable.
  EXPECT_THAT(ReportOne(Number("q2", CodeN(1), "digital_rd_share", "2020-Q2", 43)),
              Rejected(v1::REJECT_REASON_RETIRED_INDICATOR, "indicator", false));
  EXPECT_THAT(ReportOne(Number("q1", CodeN(1), "digital_rd_share", "2020-Q1", 41.5)),
              Rejected(v1::REJECT_REASON_RETIRED_INDICATOR, "indicator", false));
  v1::GetSeriesRequest series;
  series.set_enterprise_code(CodeN(1));
  series.set_indicator("digital_rd_share");
  v1::GetSeriesResponse got;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &got).ok());
  ASSERT_THAT(got.observations(), SizeIs(1));
  EXPECT_EQ(got.observations(0).period(), "2020-Q1");
  EXPECT_EQ(got.observations(0).number_value(), 41.5);
}

// ---------------------------------------------------------------------------------------
// ReportObservations.

TEST_F(IngestE2eTest, ReportRejectsEveryInvalidItemWithItsReasonAndField) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 2).ok());
  ASSERT_TRUE(registry_->Archive(CodeN(2)).ok());
  // The archive reaches ingest's cache within a poll interval; wait for it.
  ASSERT_TRUE(ingest_->WaitDirectoryAt(registry_->Version()));
  const std::string known = CodeN(1);
  const std::string never_registered = CodeN(777);
  std::string bad_check = known;
  bad_check.back() = bad_check.back() == '0' ? '1' : '0';
  const std::string future = absl::StrCat(ThisYear() + 1);

  struct Case {
    v1::Observation observation;
    Expected expected;
  };
  auto reject = [](v1::RejectReason r, const char* field) { return Expected::Reject(r, field); };
  v1::Observation no_value = Number("r-no-value", known, kEnergy, "2020", 0);
  no_value.clear_value();
  const std::vector<Case> cases = {
      {Number("", known, kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MISSING_FIELD, "report_id")},
      {Number(std::string(65, 'x'), known, kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MALFORMED_FIELD, "report_id")},
      {Number("has space", known, kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MALFORMED_FIELD, "report_id")},
      {Number("r-no-code", "", kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MISSING_FIELD, "enterprise_code")},
      {Number("r-bad-check", bad_check, kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MALFORMED_FIELD, "enterprise_code")},
      {Number("r-short-code", "91440100", kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_MALFORMED_FIELD, "enterprise_code")},
      {Number("r-no-indicator", known, "", "2020", 50),
       reject(v1::REJECT_REASON_MISSING_FIELD, "indicator")},
      {Number("r-unknown-indicator", known, "no_such_indicator", "2020", 50),
       reject(v1::REJECT_REASON_UNKNOWN_INDICATOR, "indicator")},
      {Number("r-no-period", known, kEnergy, "", 50),
       reject(v1::REJECT_REASON_MISSING_FIELD, "period")},
      {Number("r-bad-period", known, kEnergy, "2020-13", 50),
       reject(v1::REJECT_REASON_MALFORMED_PERIOD, "period")},
      {Number("r-bad-period-2", known, kEnergy, "FY2020", 50),
       reject(v1::REJECT_REASON_MALFORMED_PERIOD, "period")},
      {Number("r-quarter", known, kEnergy, "2020-Q3", 50),
       reject(v1::REJECT_REASON_WRONG_GRANULARITY, "period")},
      {Number("r-month", known, kEnergy, "2020-07", 50),
       reject(v1::REJECT_REASON_WRONG_GRANULARITY, "period")},
      {Number("r-future", known, kEnergy, future, 50),
       reject(v1::REJECT_REASON_FUTURE_PERIOD, "period")},
      {Bool("r-bool-for-number", known, kEnergy, "2020", true),
       reject(v1::REJECT_REASON_WRONG_VALUE_TYPE, "bool_value")},
      {Number("r-number-for-bool", known, kCloud, "2020", 1),
       reject(v1::REJECT_REASON_WRONG_VALUE_TYPE, "number_value")},
      {no_value, reject(v1::REJECT_REASON_WRONG_VALUE_TYPE, "value")},
      {Number("r-nan", known, kEnergy, "2020", std::nan("")),
       reject(v1::REJECT_REASON_VALUE_NOT_FINITE, "number_value")},
      {Number("r-inf", known, kTurnover, "2020", std::numeric_limits<double>::infinity()),
       reject(v1::REJECT_REASON_VALUE_NOT_FINITE, "number_value")},
      {Number("r-above", known, kEnergy, "2020", 100.5),
       reject(v1::REJECT_REASON_VALUE_OUT_OF_RANGE, "number_value")},
      {Number("r-negative", known, kEnergy, "2020", -1),
       reject(v1::REJECT_REASON_VALUE_OUT_OF_RANGE, "number_value")},
      // inventory_turnover excludes 0 itself.
      {Number("r-zero", known, kTurnover, "2020", 0),
       reject(v1::REJECT_REASON_VALUE_OUT_OF_RANGE, "number_value")},
      {Number("r-unknown-enterprise", never_registered, kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_UNKNOWN_ENTERPRISE, "enterprise_code")},
      {Number("r-archived", CodeN(2), kEnergy, "2020", 50),
       reject(v1::REJECT_REASON_ARCHIVED_ENTERPRISE, "enterprise_code")},
      // Validation order: report id, enterprise code, indicator, period, value; the
      // registry is asked only for otherwise valid items.
      {Number("", "bad", "no_such", "x", std::nan("")),
       reject(v1::REJECT_REASON_MISSING_FIELD, "report_id")},
      {Number("r-order-1", "bad", "no_such", "x", std::nan("")),
       reject(v1::REJECT_REASON_MALFORMED_FIELD, "enterprise_code")},
      {Number("r-order-2", known, "no_such", "x", std::nan("")),
       reject(v1::REJECT_REASON_UNKNOWN_INDICATOR, "indicator")},
      {Number("r-order-3", known, kEnergy, "x", std::nan("")),
       reject(v1::REJECT_REASON_MALFORMED_PERIOD, "period")},
      {Number("r-order-4", known, kEnergy, future, std::nan("")),
       reject(v1::REJECT_REASON_FUTURE_PERIOD, "period")},
      {Number("r-order-5", never_registered, kEnergy, "2020", 120),
       reject(v1::REJECT_REASON_VALUE_OUT_OF_RANGE, "number_value")},
  };
  // All in one batch together with valid items: the bad ones do not stop the others.
  std::vector<v1::Observation> batch;
  for (const auto& c : cases) batch.push_back(c.observation);
  batch.push_back(Number("r-good-energy", known, kEnergy, "2020", 85.5));
  batch.push_back(Bool("r-good-cloud", known, kCloud, "2020", true));
  batch.push_back(Number("r-edge", known, kEnergy, "2019", 100));  // max is inclusive
  auto results = MustReport(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(cases[i].expected.Matches(results[i]))
        << "case " << i << " (" << cases[i].observation.ShortDebugString() << "): expected "
        << cases[i].expected.ToString() << ", got " << Describe(results[i]);
    EXPECT_FALSE(results[i].message().empty()) << "case " << i;
    EXPECT_THAT(results[i].flags(), IsEmpty());
  }
  EXPECT_THAT(results[cases.size()], ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(results[cases.size() + 1], ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(results[cases.size() + 2], ItemIs(v1::OUTCOME_ACCEPTED, 1));

  // Only the valid items changed anything.
  auto changes = AllChanges(0, 100);
  std::set<std::string> keys;
  for (const auto& c : changes) keys.insert(c.key().indicator() + "|" + c.key().period());
  EXPECT_EQ(keys,
            (std::set<std::string>{absl::StrCat(kEnergy, "|2020"), absl::StrCat(kEnergy, "|2019"),
                                   absl::StrCat(kCloud, "|2020")}));
  // A rejected report id was not consumed.
  EXPECT_THAT(ReportOne(Number("r-above", known, kEnergy, "2021", 70)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));
}

TEST_F(IngestE2eTest, ReportOutcomesAndRevisionHistory) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 2).ok());
  const std::string a = CodeN(1);
  const std::string b = CodeN(2);
  EXPECT_THAT(ReportOne(Number("a-2020-1", a, kDevCycle, "2020", 180)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));
  // The same report again: nothing changes.
  EXPECT_THAT(ReportOne(Number("a-2020-1", a, kDevCycle, "2020", 180)),
              ItemIs(v1::OUTCOME_DUPLICATE, 1));
  // A new report with the value already current: also a duplicate.
  EXPECT_THAT(ReportOne(Number("a-2020-1b", a, kDevCycle, "2020", 180)),
              ItemIs(v1::OUTCOME_DUPLICATE, 1));
  // A new value: a revision.
  EXPECT_THAT(ReportOne(Number("a-2020-2", a, kDevCycle, "2020", 150)),
              ItemIs(v1::OUTCOME_REVISED, 2));
  // The first report resent after the revision: a duplicate of the report, at the
  // revision now current; the value stays the revised one.
  EXPECT_THAT(ReportOne(Number("a-2020-1", a, kDevCycle, "2020", 180)),
              ItemIs(v1::OUTCOME_DUPLICATE, 2));
  // A report id used again for other content.
  EXPECT_THAT(ReportOne(Number("a-2020-1", a, kDevCycle, "2020", 170)),
              Rejected(v1::REJECT_REASON_REPORT_ID_REUSED, "report_id", false));
  EXPECT_THAT(ReportOne(Number("a-2020-1", b, kDevCycle, "2020", 180)),
              Rejected(v1::REJECT_REASON_REPORT_ID_REUSED, "report_id", false));
  // Report ids are per reporter, not per series: "a-2020-2" was used for (a, 2020).
  EXPECT_THAT(ReportOne(Number("a-2020-2", a, kDevCycle, "2021", 150)),
              Rejected(v1::REJECT_REASON_REPORT_ID_REUSED, "report_id", false));
  // Booleans too.
  EXPECT_THAT(ReportOne(Bool("b-cloud-1", b, kCloud, "2020", false)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(ReportOne(Bool("b-cloud-2", b, kCloud, "2020", true)),
              ItemIs(v1::OUTCOME_REVISED, 2));

  // Several outcomes for the same series in one batch, applied in request order.
  auto results = MustReport(
      {Number("a-2019-1", a, kDevCycle, "2019", 200), Number("a-2019-2", a, kDevCycle, "2019", 210),
       Number("a-2019-1", a, kDevCycle, "2019", 200), Number("a-2019-3", a, kDevCycle, "2019", 210),
       Number("a-2019-4", a, kDevCycle, "2019", 190)});
  EXPECT_THAT(results,
              ElementsAre(ItemIs(v1::OUTCOME_ACCEPTED, 1), ItemIs(v1::OUTCOME_REVISED, 2),
                          ItemIs(v1::OUTCOME_DUPLICATE, 2), ItemIs(v1::OUTCOME_DUPLICATE, 2),
                          ItemIs(v1::OUTCOME_REVISED, 3)));

  // The history: every revision, oldest first, with old and new values and the reporter.
  v1::GetObservationHistoryRequest history;
  history.set_enterprise_code(a);
  history.set_indicator(kDevCycle);
  history.set_period("2020");
  v1::GetObservationHistoryResponse h;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetObservationHistory, history, &h).ok());
  ASSERT_THAT(h.revisions(), SizeIs(2));
  EXPECT_EQ(h.revisions(0).revision(), 1);
  EXPECT_EQ(h.revisions(0).report_id(), "a-2020-1");
  EXPECT_FALSE(h.revisions(0).has_old_value());
  EXPECT_EQ(h.revisions(0).new_value().number_value(), 180);
  EXPECT_EQ(h.revisions(1).revision(), 2);
  EXPECT_EQ(h.revisions(1).report_id(), "a-2020-2");
  EXPECT_EQ(h.revisions(1).old_value().number_value(), 180);
  EXPECT_EQ(h.revisions(1).new_value().number_value(), 150);
  for (const auto& r : h.revisions()) {
    EXPECT_EQ(r.reporter(), "anonymous");
    EXPECT_GT(r.report_time().seconds(), 0);
  }
  history.set_period("2019");
  ASSERT_TRUE(Call(stub(), &IngestStub::GetObservationHistory, history, &h).ok());
  ASSERT_THAT(h.revisions(), SizeIs(3));
  EXPECT_EQ(h.revisions(2).old_value().number_value(), 210);
  EXPECT_EQ(h.revisions(2).new_value().number_value(), 190);
  history.set_enterprise_code(b);
  history.set_indicator(kCloud);
  history.set_period("2020");
  ASSERT_TRUE(Call(stub(), &IngestStub::GetObservationHistory, history, &h).ok());
  ASSERT_THAT(h.revisions(), SizeIs(2));
  EXPECT_FALSE(h.revisions(1).old_value().bool_value());
  EXPECT_TRUE(h.revisions(1).new_value().bool_value());
  // Nothing reported: an empty history.
  history.set_period("2016");
  ASSERT_TRUE(Call(stub(), &IngestStub::GetObservationHistory, history, &h).ok());
  EXPECT_THAT(h.revisions(), IsEmpty());
  history.set_period("2016-Q1");
  EXPECT_THAT(Call(stub(), &IngestStub::GetObservationHistory, history, &h),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "period"));
  history.set_period("2016");
  history.set_indicator("no_such_indicator");
  EXPECT_THAT(Call(stub(), &IngestStub::GetObservationHistory, history, &h),
              GrpcIs(grpc::StatusCode::NOT_FOUND));

  // The current values, in period order.
  v1::GetSeriesRequest series;
  series.set_enterprise_code(a);
  series.set_indicator(kDevCycle);
  v1::GetSeriesResponse s;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &s).ok());
  ASSERT_THAT(s.observations(), SizeIs(2));
  EXPECT_EQ(s.observations(0).period(), "2019");
  EXPECT_EQ(s.observations(0).number_value(), 190);
  EXPECT_EQ(s.observations(0).revision(), 3);
  EXPECT_EQ(s.observations(0).report_id(), "a-2019-4");
  EXPECT_EQ(s.observations(1).period(), "2020");
  EXPECT_EQ(s.observations(1).number_value(), 150);
  EXPECT_EQ(s.observations(1).reporter(), "anonymous");
  EXPECT_EQ(s.observations(1).enterprise_code(), a);
  EXPECT_EQ(s.observations(1).indicator(), kDevCycle);
}

// A report resent within one batch after a later report revised its series: both copies
// are duplicates at the revision actually current.
TEST_F(IngestE2eTest, ResendOfARevisedReportTwiceInOneBatch) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  const std::string a = CodeN(1);
  EXPECT_THAT(ReportOne(Number("x-1", a, kDevCycle, "2020", 100)), ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(ReportOne(Number("x-2", a, kDevCycle, "2020", 120)), ItemIs(v1::OUTCOME_REVISED, 2));
  auto results = MustReport({Number("x-1", a, kDevCycle, "2020", 100),
                             Number("x-1", a, kDevCycle, "2020", 100),
                             Number("x-2", a, kDevCycle, "2020", 120)});
  EXPECT_THAT(results,
              ElementsAre(ItemIs(v1::OUTCOME_DUPLICATE, 2), ItemIs(v1::OUTCOME_DUPLICATE, 2),
                          ItemIs(v1::OUTCOME_DUPLICATE, 2)));
}

TEST_F(IngestE2eTest, ReportRejectsEmptyAndOversizedBatchesAsAWhole) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  v1::ReportObservationsResponse response;
  EXPECT_THAT(Report(stub(), {}, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "observations"));
  std::vector<v1::Observation> big;
  for (int i = 0; i < 5001; ++i) {
    big.push_back(
        Number(absl::StrCat("big-", i), CodeN(1), kDevCycle, absl::StrCat(1950 + i % 70), 10 + i));
  }
  EXPECT_THAT(Report(stub(), big, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "observations"));
  // Nothing of it was stored.
  int64_t ingest_version = -1;
  EXPECT_THAT(DataVersions({{kDevCycle, "1950"}}, &ingest_version), ElementsAre(0));
  EXPECT_EQ(ingest_version, 0);
  // 5000 is allowed.
  big.pop_back();
  ASSERT_TRUE(Report(stub(), big, &response).ok());
  ASSERT_THAT(response.results(), SizeIs(5000));
  EXPECT_THAT(response.results(0), ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(response.results(70), ItemIs(v1::OUTCOME_REVISED, 2));
}

TEST_F(IngestE2eTest, ReportReplaysItsRequestId) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  const std::vector<v1::Observation> batch = {Number("rq-1", CodeN(1), kDevCycle, "2020", 90),
                                              Number("rq-2", CodeN(1), kDevCycle, "2021", 80)};
  auto first = MustReport(batch, "b2f0c3d4-6a55-4c1e-9f4b-0c7e3d2a1b00");
  EXPECT_THAT(first, ElementsAre(ItemIs(v1::OUTCOME_ACCEPTED, 1), ItemIs(v1::OUTCOME_ACCEPTED, 1)));
  // The retry replays the first response (ACCEPTED), where a new call says DUPLICATE.
  auto replayed = MustReport(batch, "b2f0c3d4-6a55-4c1e-9f4b-0c7e3d2a1b00");
  EXPECT_THAT(replayed,
              ElementsAre(ItemIs(v1::OUTCOME_ACCEPTED, 1), ItemIs(v1::OUTCOME_ACCEPTED, 1)));
  auto fresh = MustReport(batch);
  EXPECT_THAT(fresh,
              ElementsAre(ItemIs(v1::OUTCOME_DUPLICATE, 1), ItemIs(v1::OUTCOME_DUPLICATE, 1)));
  v1::ReportObservationsResponse response;
  EXPECT_THAT(Report(stub(), {batch[0]}, &response, "b2f0c3d4-6a55-4c1e-9f4b-0c7e3d2a1b00"),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "request_id"));
}

TEST_F(IngestE2eTest, OutliersAreFlaggedButAccepted) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  const std::string a = CodeN(1);
  // Own history: four ordinary years, then a jump (still plausible: below 100).
  auto history = MustReport(
      {Number("t-2016", a, kTurnover, "2016", 5.0), Number("t-2017", a, kTurnover, "2017", 5.4),
       Number("t-2018", a, kTurnover, "2018", 5.9), Number("t-2019", a, kTurnover, "2019", 6.1)});
  for (const auto& r : history) {
    EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));
    EXPECT_THAT(r.flags(), IsEmpty()) << Describe(r);
  }
  v1::ItemResult jump = ReportOne(Number("t-2020", a, kTurnover, "2020", 95));
  EXPECT_THAT(jump, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_TRUE(HasFlag(jump.flags(), v1::OUTLIER_KIND_OWN_HISTORY)) << jump.ShortDebugString();
  EXPECT_FALSE(HasFlag(jump.flags(), v1::OUTLIER_KIND_HARD_RANGE)) << jump.ShortDebugString();
  // An ordinary next year is not flagged.
  v1::ItemResult ordinary = ReportOne(Number("t-2021", a, kTurnover, "2021", 6.3));
  EXPECT_THAT(ordinary, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_THAT(ordinary.flags(), IsEmpty()) << ordinary.ShortDebugString();

  // Hard range: valid (<= 100) but beyond the plausible 99.
  v1::ItemResult hard = ReportOne(Number("e-2020", a, kEnergy, "2020", 99.5));
  EXPECT_THAT(hard, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  EXPECT_TRUE(HasFlag(hard.flags(), v1::OUTLIER_KIND_HARD_RANGE)) << hard.ShortDebugString();
  // Revised to a plausible value: no flag.
  v1::ItemResult fixed = ReportOne(Number("e-2020-b", a, kEnergy, "2020", 89.5));
  EXPECT_THAT(fixed, ItemIs(v1::OUTCOME_REVISED, 2));
  EXPECT_THAT(fixed.flags(), IsEmpty());

  // The flags are kept with the value: series and history show them.
  v1::GetSeriesRequest series;
  series.set_enterprise_code(a);
  series.set_indicator(kTurnover);
  series.mutable_periods()->set_start("2020");
  series.mutable_periods()->set_end("2020");
  v1::GetSeriesResponse s;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &s).ok());
  ASSERT_THAT(s.observations(), SizeIs(1));
  EXPECT_TRUE(HasFlag(s.observations(0).flags(), v1::OUTLIER_KIND_OWN_HISTORY));
  v1::GetObservationHistoryRequest history_request;
  history_request.set_enterprise_code(a);
  history_request.set_indicator(kEnergy);
  history_request.set_period("2020");
  v1::GetObservationHistoryResponse h;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetObservationHistory, history_request, &h).ok());
  ASSERT_THAT(h.revisions(), SizeIs(2));
  EXPECT_TRUE(HasFlag(h.revisions(0).flags(), v1::OUTLIER_KIND_HARD_RANGE));
  EXPECT_THAT(h.revisions(1).flags(), IsEmpty());
}

// ---------------------------------------------------------------------------------------
// StreamObservations, checked item by item against a local model.

constexpr int kStreamEnterprises = 60;
constexpr int kFirstStreamCode = 1000;

// One planned observation: either valid (the model decides its outcome) or invalid
// with a known reject.
struct Planned {
  v1::Observation observation;
  bool valid = true;
  Expected reject;
};

// 100 batches of 50: fresh values, revisions, resends, same-value reports, reused report
// ids and invalid items mixed, each series at most once per batch.
std::vector<std::vector<Planned>> PlanStream() {
  std::mt19937 rng(20160701);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::vector<std::string> indicators = {kEnergy, kTurnover, kCloud, kDevCycle};
  auto value_for = [&](const std::string& indicator) {
    if (indicator == kEnergy) return 40.0 + uniform(0, 500) / 10.0;
    if (indicator == kTurnover) return 1.0 + uniform(0, 200) / 20.0;
    if (indicator == kDevCycle) return static_cast<double>(uniform(30, 400));
    return static_cast<double>(uniform(0, 1));
  };
  auto make = [&](const std::string& id, const std::string& code, const std::string& indicator,
                  const std::string& period, double value) {
    return indicator == kCloud ? Bool(id, code, indicator, period, value != 0)
                               : Number(id, code, indicator, period, value);
  };
  std::vector<v1::Observation> sent_valid;  // earlier valid observations, for resends
  std::vector<std::vector<Planned>> batches;
  for (int b = 0; b < 100; ++b) {
    std::vector<Planned> batch;
    std::set<std::string> series_in_batch;
    auto series_of = [](const v1::Observation& o) {
      return absl::StrCat(o.enterprise_code(), "|", o.indicator(), "|", o.period());
    };
    for (int i = 0; i < 50; ++i) {
      const std::string id = absl::StrFormat("s%03d-%02d", b, i);
      Planned p;
      const int dice = uniform(0, 99);
      if (dice < 10 && !sent_valid.empty()) {
        // Invalid items.
        const v1::Observation& base =
            sent_valid[uniform(0, static_cast<int>(sent_valid.size()) - 1)];
        p.valid = false;
        switch (uniform(0, 6)) {
          case 0:
            p.observation = Number(id, CodeN(9000 + uniform(0, 50)), kEnergy, "2020", 50);
            p.reject = Expected::Reject(v1::REJECT_REASON_UNKNOWN_ENTERPRISE, "enterprise_code");
            break;
          case 1:
            p.observation = Number(id, base.enterprise_code(), "unknown_rate", "2020", 5);
            p.reject = Expected::Reject(v1::REJECT_REASON_UNKNOWN_INDICATOR, "indicator");
            break;
          case 2:
            p.observation = Number(id, base.enterprise_code(), kEnergy, "2020", 150);
            p.reject = Expected::Reject(v1::REJECT_REASON_VALUE_OUT_OF_RANGE, "number_value");
            break;
          case 3:
            p.observation = Number(id, base.enterprise_code(), kTurnover, "2020", std::nan(""));
            p.reject = Expected::Reject(v1::REJECT_REASON_VALUE_NOT_FINITE, "number_value");
            break;
          case 4:
            p.observation = Number(id, base.enterprise_code(), kEnergy, "2020-Q2", 50);
            p.reject = Expected::Reject(v1::REJECT_REASON_WRONG_GRANULARITY, "period");
            break;
          case 5:
            p.observation = Bool(id, base.enterprise_code(), kDevCycle, "2020", true);
            p.reject = Expected::Reject(v1::REJECT_REASON_WRONG_VALUE_TYPE, "bool_value");
            break;
          default:
            p.observation = Number("", base.enterprise_code(), kEnergy, "2020", 50);
            p.reject = Expected::Reject(v1::REJECT_REASON_MISSING_FIELD, "report_id");
            break;
        }
        batch.push_back(std::move(p));
        continue;
      }
      // Valid items; retried until its series is new to this batch.
      for (int attempt = 0; attempt < 100; ++attempt) {
        const int kind = uniform(0, 99);
        if (kind < 60 || sent_valid.empty()) {
          const std::string indicator = indicators[uniform(0, 3)];
          p.observation = make(id, CodeN(kFirstStreamCode + uniform(0, kStreamEnterprises - 1)),
                               indicator, absl::StrCat(2016 + uniform(0, 7)), value_for(indicator));
        } else {
          const v1::Observation& base =
              sent_valid[uniform(0, static_cast<int>(sent_valid.size()) - 1)];
          if (kind < 75) {
            p.observation = base;  // a resend
          } else if (kind < 88) {  // a revision (or, by chance, the same value)
            p.observation = make(id, base.enterprise_code(), base.indicator(), base.period(),
                                 value_for(base.indicator()));
          } else if (kind < 94) {  // a new report of an earlier value
            p.observation = base;
            p.observation.set_report_id(id);
          } else {  // an earlier report id with other content
            p.observation = base;
            p.observation.set_period(absl::StrCat(2016 + uniform(0, 7)));
            if (p.observation.period() == base.period()) p.observation.set_period("2015");
          }
        }
        if (series_in_batch.insert(series_of(p.observation)).second) break;
      }
      sent_valid.push_back(p.observation);
      batch.push_back(std::move(p));
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

constexpr int64_t kEmptyBatchId = 777001;
constexpr int64_t kOversizedBatchId = 777002;

// The stream requests: batch ids 1..100, with an empty batch after the 30th and an
// oversized one after the 60th.
std::vector<v1::StreamObservationsRequest> StreamRequests(
    const std::vector<std::vector<Planned>>& plan) {
  std::vector<v1::StreamObservationsRequest> out;
  for (size_t b = 0; b < plan.size(); ++b) {
    v1::StreamObservationsRequest r;
    r.set_batch_id(static_cast<int64_t>(b) + 1);
    for (const auto& p : plan[b]) *r.add_observations() = p.observation;
    out.push_back(std::move(r));
    if (b == 29) {
      v1::StreamObservationsRequest empty;
      empty.set_batch_id(kEmptyBatchId);
      out.push_back(std::move(empty));
    }
    if (b == 59) {
      v1::StreamObservationsRequest big;
      big.set_batch_id(kOversizedBatchId);
      for (int i = 0; i < 5001; ++i) {
        *big.add_observations() =
            Number(absl::StrCat("big-", i), CodeN(kFirstStreamCode), kDevCycle, "2016", 1 + i);
      }
      out.push_back(std::move(big));
    }
  }
  return out;
}

// Checks a run's acknowledgements against the plan, applying valid items to `model`.
// Returns the number of items checked.
int CheckAcks(const std::vector<std::vector<Planned>>& plan,
              const std::vector<v1::StreamObservationsResponse>& acks, ObservationModel* model,
              std::map<v1::Outcome, int>* outcomes) {
  int checked = 0;
  size_t next = 0;
  for (size_t b = 0; b < plan.size(); ++b) {
    const int64_t id = static_cast<int64_t>(b) + 1;
    if (next >= acks.size()) {
      ADD_FAILURE() << "no acknowledgement for batch " << id;
      return checked;
    }
    const auto& ack = acks[next++];
    EXPECT_EQ(ack.batch_id(), id) << "acknowledgements out of order";
    EXPECT_EQ(ack.status().code(), 0) << "batch " << id << ": " << ack.status().message();
    if (ack.results_size() != static_cast<int>(plan[b].size())) {
      ADD_FAILURE() << "batch " << id << ": " << ack.results_size() << " results";
      return checked;
    }
    for (size_t i = 0; i < plan[b].size(); ++i) {
      const Planned& p = plan[b][i];
      const v1::ItemResult& r = ack.results(static_cast<int>(i));
      EXPECT_EQ(r.index(), static_cast<int>(i));
      Expected e = p.valid ? model->Apply(p.observation) : p.reject;
      if (outcomes != nullptr) {
        ++(*outcomes)[e.outcome == v1::OUTCOME_REJECTED &&
                              e.reason == v1::REJECT_REASON_REPORT_ID_REUSED
                          ? v1::OUTCOME_UNSPECIFIED  // counted apart: reused report ids
                          : e.outcome];
      }
      EXPECT_TRUE(e.Matches(r)) << "batch " << id << " item " << i << " ("
                                << p.observation.ShortDebugString() << "): expected "
                                << e.ToString() << ", got " << Describe(r);
      ++checked;
    }
    if (b == 29 || b == 59) {
      if (next >= acks.size()) {
        ADD_FAILURE() << "no acknowledgement for the bad batch after batch " << id;
        return checked;
      }
      const auto& bad = acks[next++];
      EXPECT_EQ(bad.batch_id(), b == 29 ? kEmptyBatchId : kOversizedBatchId);
      EXPECT_EQ(bad.status().code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(ViolationFields(bad.status()), ElementsAre("observations"));
      EXPECT_THAT(bad.results(), IsEmpty());
    }
  }
  EXPECT_EQ(next, acks.size()) << "more acknowledgements than batches";
  return checked;
}

TEST_F(IngestE2eTest, StreamOfManyBatchesMatchesTheModelAndAResendChangesNothing) {
  ASSERT_TRUE(registry_->RegisterManufacturers(kFirstStreamCode, kStreamEnterprises).ok());
  const auto plan = PlanStream();
  const auto requests = StreamRequests(plan);
  ASSERT_EQ(requests.size(), 102u);

  ObservationModel model;
  std::map<v1::Outcome, int> outcomes;
  StreamRun first = RunStream(stub(), requests);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(CheckAcks(plan, first.acks, &model, &outcomes), 5000);
  // The plan really mixes every outcome.
  EXPECT_GT(outcomes[v1::OUTCOME_ACCEPTED], 1000);
  EXPECT_GT(outcomes[v1::OUTCOME_DUPLICATE], 300);
  EXPECT_GT(outcomes[v1::OUTCOME_REVISED], 300);
  EXPECT_GT(outcomes[v1::OUTCOME_REJECTED], 300);
  EXPECT_GT(outcomes[v1::OUTCOME_UNSPECIFIED], 100);  // reused report ids

  // Every (indicator, period) the stream may have touched.
  std::vector<std::pair<std::string, std::string>> keys;
  for (const char* indicator : {kEnergy, kTurnover, kCloud, kDevCycle}) {
    for (int year = 2015; year <= 2023; ++year) keys.emplace_back(indicator, absl::StrCat(year));
  }
  int64_t ingest_version = 0;
  const std::vector<int64_t> versions = DataVersions(keys, &ingest_version);
  EXPECT_GT(ingest_version, 0);
  auto changes = AllChanges(0, 250);
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().version(), ingest_version);
  // The newest change of each key carries its current data version.
  std::map<std::string, int64_t> last_data_version;
  for (const auto& c : changes) {
    last_data_version[c.key().indicator() + "|" + c.key().period()] = c.data_version();
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    const std::string name = keys[k].first + "|" + keys[k].second;
    EXPECT_EQ(versions[k], last_data_version.count(name) ? last_data_version[name] : 0) << name;
  }

  // A stream dropped mid-way (the connection lost), then the whole stream resent.
  StreamRun dropped = RunStream(stub(), requests, /*cancel_after_acks=*/20);
  EXPECT_EQ(dropped.status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_GE(dropped.acks.size(), 20u);
  for (int b = 0; b < 20; ++b) {
    EXPECT_EQ(dropped.acks[b].batch_id(), b + 1);
    for (const auto& r : dropped.acks[b].results()) {
      EXPECT_TRUE(r.outcome() == v1::OUTCOME_DUPLICATE || r.outcome() == v1::OUTCOME_REJECTED)
          << "batch " << b + 1 << ": " << Describe(r);
    }
  }
  StreamRun resent = RunStream(stub(), requests);
  ASSERT_TRUE(resent.status.ok()) << resent.status.error_message();
  outcomes.clear();
  EXPECT_EQ(CheckAcks(plan, resent.acks, &model, &outcomes), 5000);
  EXPECT_EQ(outcomes[v1::OUTCOME_ACCEPTED], 0);
  EXPECT_EQ(outcomes[v1::OUTCOME_REVISED], 0);
  int64_t ingest_version_after = 0;
  EXPECT_EQ(DataVersions(keys, &ingest_version_after), versions);
  EXPECT_EQ(ingest_version_after, ingest_version);
  v1::ListChangesRequest list;
  list.set_after_version(ingest_version);
  v1::ListChangesResponse none;
  ASSERT_TRUE(Call(stub(), &IngestStub::ListChanges, list, &none).ok());
  EXPECT_THAT(none.changes(), IsEmpty());
  EXPECT_EQ(none.ingest_version(), ingest_version);

  // Reads agree with the model. ScanIndicator: every reporting enterprise once, in
  // code order, with its current value, at the data version GetDataVersions gives.
  for (const auto& [indicator, period] : keys) {
    v1::ScanIndicatorRequest scan;
    scan.set_indicator(indicator);
    scan.set_period(period);
    scan.set_batch_size(7);
    grpc::ClientContext context;
    SetDeadline(&context);
    auto reader = stub().ScanIndicator(&context, scan);
    std::vector<std::pair<std::string, double>> rows;
    std::set<int64_t> scan_versions;
    v1::ScanIndicatorResponse batch;
    while (reader->Read(&batch)) {
      EXPECT_EQ(batch.enterprise_codes_size(), batch.values_size());
      EXPECT_LE(batch.enterprise_codes_size(), 7);
      scan_versions.insert(batch.data_version());
      for (int i = 0; i < batch.enterprise_codes_size(); ++i) {
        rows.emplace_back(batch.enterprise_codes(i), batch.values(i));
      }
    }
    ASSERT_TRUE(reader->Finish().ok()) << indicator << " " << period;
    const auto column = model.Column(indicator, period);
    const std::vector<std::pair<std::string, double>> expected(column.begin(), column.end());
    EXPECT_EQ(rows, expected) << indicator << " " << period;
    const int64_t version = DataVersions({{indicator, period}})[0];
    if (!rows.empty()) {
      EXPECT_EQ(scan_versions, std::set<int64_t>{version}) << indicator;
    }

    // GetCoverage: the reporters per period.
    v1::GetCoverageRequest coverage;
    coverage.set_indicator(indicator);
    coverage.mutable_periods()->set_start(period);
    coverage.mutable_periods()->set_end(period);
    v1::GetCoverageResponse covered;
    ASSERT_TRUE(Call(stub(), &IngestStub::GetCoverage, coverage, &covered).ok());
    ASSERT_THAT(covered.periods(), SizeIs(1));
    EXPECT_EQ(covered.periods(0).period(), period);
    EXPECT_EQ(covered.periods(0).reporters(), static_cast<int64_t>(column.size()));
    EXPECT_EQ(covered.periods(0).data_version(), version);
  }
  // GetCoverage over a range: every period in order, also those without reporters.
  v1::GetCoverageRequest coverage;
  coverage.set_indicator(kEnergy);
  coverage.mutable_periods()->set_start("2014");
  coverage.mutable_periods()->set_end("2024");
  v1::GetCoverageResponse covered;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetCoverage, coverage, &covered).ok());
  ASSERT_THAT(covered.periods(), SizeIs(11));
  for (int i = 0; i < 11; ++i) {
    const std::string period = absl::StrCat(2014 + i);
    EXPECT_EQ(covered.periods(i).period(), period);
    EXPECT_EQ(covered.periods(i).reporters(),
              static_cast<int64_t>(model.Column(kEnergy, period).size()))
        << period;
  }
  EXPECT_EQ(covered.periods(0).reporters(), 0);
  EXPECT_EQ(covered.periods(0).data_version(), 0);

  // GetSeries over a range, for every stream enterprise and indicator.
  for (int n = kFirstStreamCode; n < kFirstStreamCode + kStreamEnterprises; n += 7) {
    for (const char* indicator : {kEnergy, kCloud}) {
      v1::GetSeriesRequest series;
      series.set_enterprise_code(CodeN(n));
      series.set_indicator(indicator);
      series.mutable_periods()->set_start("2017");
      series.mutable_periods()->set_end("2021");
      v1::GetSeriesResponse got;
      ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &got).ok());
      std::vector<std::string> got_periods;
      for (const auto& o : got.observations()) {
        got_periods.push_back(o.period());
        const auto* c = model.Find(CodeN(n), indicator, o.period());
        ASSERT_NE(c, nullptr) << o.ShortDebugString();
        EXPECT_EQ(ValueOf(o), c->value) << o.ShortDebugString();
        EXPECT_EQ(o.revision(), c->revision) << o.ShortDebugString();
        EXPECT_EQ(o.has_bool_value(), std::string(indicator) == kCloud);
      }
      std::vector<std::string> want_periods;
      for (const auto& [period, c] : model.Series(CodeN(n), indicator)) {
        if (period >= "2017" && period <= "2021") want_periods.push_back(period);
      }
      EXPECT_EQ(got_periods, want_periods) << CodeN(n) << " " << indicator;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reads: request errors, versions and the change stream.

TEST_F(IngestE2eTest, ReadsRejectMalformedRequests) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  v1::GetDataVersionsRequest versions;
  v1::GetDataVersionsResponse vr;
  EXPECT_THAT(Call(stub(), &IngestStub::GetDataVersions, versions, &vr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "keys"));
  for (int i = 0; i < 1001; ++i) {
    auto* k = versions.add_keys();
    k->set_indicator(kEnergy);
    k->set_period(absl::StrCat(1900 + i));
  }
  EXPECT_THAT(Call(stub(), &IngestStub::GetDataVersions, versions, &vr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "keys"));
  versions.mutable_keys()->RemoveLast();
  ASSERT_TRUE(Call(stub(), &IngestStub::GetDataVersions, versions, &vr).ok());
  ASSERT_THAT(vr.versions(), SizeIs(1000));
  EXPECT_EQ(vr.versions(999).key().period(), "2899");
  EXPECT_EQ(vr.versions(999).version(), 0);
  versions.clear_keys();
  auto* k = versions.add_keys();
  k->set_indicator(kEnergy);
  k->set_period("2020");
  k = versions.add_keys();
  k->set_indicator("no_such_indicator");
  k->set_period("2020");
  EXPECT_THAT(Call(stub(), &IngestStub::GetDataVersions, versions, &vr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "keys[1].indicator"));
  k->set_indicator(kEnergy);
  k->set_period("20x0");
  EXPECT_THAT(Call(stub(), &IngestStub::GetDataVersions, versions, &vr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "keys[1].period"));

  v1::ListChangesRequest changes;
  v1::ListChangesResponse cr;
  changes.set_after_version(-1);
  EXPECT_THAT(Call(stub(), &IngestStub::ListChanges, changes, &cr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "after_version"));
  changes.set_after_version(0);
  changes.set_page_size(10001);
  EXPECT_THAT(Call(stub(), &IngestStub::ListChanges, changes, &cr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));

  v1::GetSeriesRequest series;
  v1::GetSeriesResponse sr;
  series.set_enterprise_code("91440100");
  series.set_indicator(kEnergy);
  EXPECT_THAT(Call(stub(), &IngestStub::GetSeries, series, &sr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise_code"));
  series.set_enterprise_code(CodeN(1));
  series.mutable_periods()->set_start("2020-Q1");
  EXPECT_THAT(Call(stub(), &IngestStub::GetSeries, series, &sr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "periods.start"));
  series.mutable_periods()->set_start("2020");
  series.mutable_periods()->set_end("20");
  EXPECT_THAT(Call(stub(), &IngestStub::GetSeries, series, &sr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "periods.end"));
  series.clear_periods();
  series.set_indicator("no_such_indicator");
  EXPECT_THAT(Call(stub(), &IngestStub::GetSeries, series, &sr),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  // An enterprise without values: empty, not an error.
  series.set_indicator(kEnergy);
  ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &sr).ok());
  EXPECT_THAT(sr.observations(), IsEmpty());

  v1::GetCoverageRequest coverage;
  v1::GetCoverageResponse gr;
  coverage.set_indicator(kEnergy);
  coverage.mutable_periods()->set_start("2020");
  EXPECT_THAT(Call(stub(), &IngestStub::GetCoverage, coverage, &gr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "periods.end"));
  coverage.mutable_periods()->set_end("2019");
  EXPECT_THAT(Call(stub(), &IngestStub::GetCoverage, coverage, &gr),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "periods.end"));
  coverage.set_indicator("no_such_indicator");
  EXPECT_THAT(Call(stub(), &IngestStub::GetCoverage, coverage, &gr),
              GrpcIs(grpc::StatusCode::NOT_FOUND));

  auto scan = [&](const std::string& indicator, const std::string& period, int batch_size) {
    v1::ScanIndicatorRequest request;
    request.set_indicator(indicator);
    request.set_period(period);
    request.set_batch_size(batch_size);
    grpc::ClientContext context;
    SetDeadline(&context);
    auto reader = stub().ScanIndicator(&context, request);
    v1::ScanIndicatorResponse ignored;
    while (reader->Read(&ignored)) {
    }
    return reader->Finish();
  };
  EXPECT_THAT(scan(kEnergy, "2020-Q1", 0),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "period"));
  EXPECT_THAT(scan(kEnergy, "2020", 50001),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "batch_size"));
  EXPECT_THAT(scan("no_such_indicator", "2020", 0), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(scan(kEnergy, "2020", 0).ok());
}

TEST_F(IngestE2eTest, ListChangesPagesAfterAVersion) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 3).ok());
  // Eight changes: one per (indicator, period) a batch touches, and one per batch.
  for (int year = 2016; year < 2020; ++year) {
    auto results = MustReport(
        {Number(absl::StrCat("e-", year, "-1"), CodeN(1), kEnergy, absl::StrCat(year), 60),
         Number(absl::StrCat("e-", year, "-2"), CodeN(2), kEnergy, absl::StrCat(year), 70),
         Bool(absl::StrCat("c-", year), CodeN(3), kCloud, absl::StrCat(year), true)});
    for (const auto& r : results) EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  }
  // A duplicate changes nothing.
  EXPECT_THAT(ReportOne(Number("e-2016-1", CodeN(1), kEnergy, "2016", 60)),
              ItemIs(v1::OUTCOME_DUPLICATE, 1));
  auto all = AllChanges(0, 3);
  ASSERT_THAT(all, SizeIs(8));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(all[i].data_version(), 1);
    EXPECT_GT(all[i].time().seconds(), 0);
    EXPECT_TRUE(all[i].enterprises_listed());
    if (all[i].key().indicator() == kEnergy) {
      EXPECT_THAT(all[i].enterprise_codes(), ElementsAre(CodeN(1), CodeN(2)));
      EXPECT_THAT(all[i].values(), ElementsAre(60, 70));
    } else {
      EXPECT_THAT(all[i].enterprise_codes(), ElementsAre(CodeN(3)));
      EXPECT_THAT(all[i].values(), ElementsAre(1));
    }
  }
  // A revision: one more change, data version 2 for its key.
  EXPECT_THAT(ReportOne(Number("e-2017-1b", CodeN(1), kEnergy, "2017", 61)),
              ItemIs(v1::OUTCOME_REVISED, 2));
  v1::ListChangesRequest request;
  request.set_after_version(8);
  v1::ListChangesResponse response;
  ASSERT_TRUE(Call(stub(), &IngestStub::ListChanges, request, &response).ok());
  ASSERT_THAT(response.changes(), SizeIs(1));
  EXPECT_EQ(response.changes(0).version(), 9);
  EXPECT_EQ(response.changes(0).key().indicator(), kEnergy);
  EXPECT_EQ(response.changes(0).key().period(), "2017");
  EXPECT_EQ(response.changes(0).data_version(), 2);
  // The change lists the value it set.
  EXPECT_TRUE(response.changes(0).enterprises_listed());
  EXPECT_THAT(response.changes(0).enterprise_codes(), ElementsAre(CodeN(1)));
  EXPECT_THAT(response.changes(0).values(), ElementsAre(61));
  EXPECT_EQ(response.ingest_version(), 9);
  EXPECT_FALSE(response.truncated());
  // Reading past the end: nothing, with the newest version.
  request.set_after_version(100);
  ASSERT_TRUE(Call(stub(), &IngestStub::ListChanges, request, &response).ok());
  EXPECT_THAT(response.changes(), IsEmpty());
  EXPECT_EQ(response.ingest_version(), 9);
  int64_t ingest_version = 0;
  EXPECT_THAT(
      DataVersions({{kEnergy, "2017"}, {kEnergy, "2016"}, {kCloud, "2019"}, {kCloud, "2020"}},
                   &ingest_version),
      ElementsAre(2, 1, 1, 0));
  EXPECT_EQ(ingest_version, 9);
}

// ---------------------------------------------------------------------------------------
// The directory follows the registry.

TEST_F(IngestE2eTest, EnterprisesCreatedOrArchivedLaterAreFollowed) {
  ASSERT_TRUE(registry_->RegisterManufacturers(1, 1).ok());
  EXPECT_THAT(ReportOne(Number("f-1", CodeN(1), kEnergy, "2020", 70)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));
  // Not registered yet.
  EXPECT_THAT(ReportOne(Number("f-2", CodeN(2), kEnergy, "2020", 71)),
              Rejected(v1::REJECT_REASON_UNKNOWN_ENTERPRISE, "enterprise_code", false));
  // Registered after the service started: accepted once the registry knows it (the
  // negative cache holds the earlier answer only briefly).
  ASSERT_TRUE(registry_->RegisterManufacturers(2, 2).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  v1::ItemResult r;
  do {
    r = ReportOne(Number("f-2", CodeN(2), kEnergy, "2020", 71));
    if (r.outcome() != v1::OUTCOME_REJECTED) break;
    EXPECT_EQ(r.reject_reason(), v1::REJECT_REASON_UNKNOWN_ENTERPRISE) << Describe(r);
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_THAT(r, ItemIs(v1::OUTCOME_ACCEPTED, 1));
  // Never asked about before: found on the first report.
  EXPECT_THAT(ReportOne(Number("f-3", CodeN(3), kEnergy, "2020", 72)),
              ItemIs(v1::OUTCOME_ACCEPTED, 1));

  // Archived in the registry: rejected within a few seconds, both the enterprise the
  // service has cached from reports and the one it learnt from lookups.
  ASSERT_TRUE(registry_->Archive(CodeN(1)).ok());
  ASSERT_TRUE(registry_->Archive(CodeN(3)).ok());
  const absl::Time archived_at = absl::Now();
  for (int n : {1, 3}) {
    const std::string id = absl::StrCat("f-archived-", n);
    do {
      r = ReportOne(Number(id, CodeN(n), kEnergy, "2021", 73));
      if (r.outcome() == v1::OUTCOME_REJECTED) break;
      // Accepted (then a duplicate) until the archive event arrives.
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < archived_at + absl::Seconds(5));
    EXPECT_THAT(r, Rejected(v1::REJECT_REASON_ARCHIVED_ENTERPRISE, "enterprise_code", false))
        << CodeN(n);
  }
  EXPECT_LT(absl::Now() - archived_at, absl::Seconds(5));
  // Its values stay readable.
  v1::GetSeriesRequest series;
  series.set_enterprise_code(CodeN(1));
  series.set_indicator(kEnergy);
  v1::GetSeriesResponse got;
  ASSERT_TRUE(Call(stub(), &IngestStub::GetSeries, series, &got).ok());
  EXPECT_THAT(got.observations(), SizeIs(::testing::Ge(1)));
}

}  // namespace
}  // namespace iplus::ingest::e2e
