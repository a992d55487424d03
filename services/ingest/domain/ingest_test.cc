#include "services/ingest/domain/ingest.h"

#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "common/clock/clock.h"
#include "common/refdata/credit_code.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/domain/fake_directory.h"
#include "services/ingest/domain/memory_store.h"

namespace iplus::ingest {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::SizeIs;

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

class DenyRegion : public ReportPolicy {
 public:
  bool MayReport(const std::string& reporter, const EnterpriseInfo& e) override {
    return reporter != "partner-11" || e.region.rfind("11", 0) == 0;
  }
};

ObservationInput Number(const std::string& rid, const std::string& code, const std::string& ind,
                        const std::string& period, double v) {
  ObservationInput o;
  o.report_id = rid;
  o.enterprise_code = code;
  o.indicator = ind;
  o.period = period;
  o.kind = ObservationInput::ValueKind::kNumber;
  o.number_value = v;
  return o;
}

ObservationInput Bool(const std::string& rid, const std::string& code, const std::string& ind,
                      const std::string& period, bool v) {
  ObservationInput o = Number(rid, code, ind, period, 0);
  o.kind = ObservationInput::ValueKind::kBool;
  o.bool_value = v;
  return o;
}

class IngestTest : public ::testing::Test {
 protected:
  IngestTest()
      // 2019-06-01T00:00:00Z: 2019 has started, 2020 has not.
      : clock_(absl::FromUnixSeconds(1559347200)),
        ingest_(&store_, &directory_, &clock_, &peers_, &policy_, IngestConfig{}) {}

  void SetUp() override {
    ASSERT_THAT(ingest_.SeedCatalogue(), IsOk());
    for (int i = 0; i < 50; ++i) directory_.Add(CodeN(i));
    directory_.Add(CodeN(900), "C26", /*archived=*/true);
  }

  ItemResult One(const ObservationInput& o, const std::string& reporter = "partner-44") {
    auto r = ingest_.Report(reporter, {o});
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0] : ItemResult{};
  }

  MemoryStore store_;
  FakeDirectory directory_;
  FakeClock clock_;
  PeerStats peers_;
  DenyRegion policy_;
  Ingest ingest_;
};

TEST_F(IngestTest, CatalogueHasThePlansIndicators) {
  auto page = ingest_.ListIndicators(false, 0, "");
  ASSERT_THAT(page, IsOk());
  std::vector<std::string> ids;
  for (const auto& i : page->indicators) ids.push_back(i.id);
  EXPECT_THAT(ids, ElementsAre("energy_utilization_rate", "industry_cloud", "innovation_platform",
                               "inventory_turnover", "product_dev_cycle_days"));
  auto small = ingest_.ListIndicators(false, 2, "");
  ASSERT_THAT(small, IsOk());
  ASSERT_THAT(small->indicators, SizeIs(2));
  auto next = ingest_.ListIndicators(false, 2, small->next_page_token);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->indicators[0].id, "innovation_platform");
  // Seeding again changes nothing.
  EXPECT_THAT(ingest_.SeedCatalogue(), IsOk());
  EXPECT_THAT(ingest_.ListIndicators(false, 0, "")->indicators, SizeIs(5));
}

TEST_F(IngestTest, CreateAndRetireIndicators) {
  Indicator i;
  i.id = "digital_rd_tools";
  i.title = "Uses digital R&D tools";
  i.value_type = ValueType::kNumber;
  i.range.min = 0.0;
  i.range.min_inclusive = true;
  i.range.max = 100.0;
  i.range.max_inclusive = true;
  i.granularity = refdata::Granularity::kQuarter;
  auto created = ingest_.CreateIndicator(i);
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(created->second);
  auto again = ingest_.CreateIndicator(i);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->second);
  Indicator other = i;
  other.title = "Changed";
  EXPECT_THAT(ingest_.CreateIndicator(other), StatusIs(absl::StatusCode::kAlreadyExists));
  Indicator bad = i;
  bad.id = "Bad-Id";
  EXPECT_THAT(ingest_.CreateIndicator(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = i;
  bad.value_type = ValueType::kBoolean;  // with a range
  EXPECT_THAT(ingest_.CreateIndicator(bad), StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_EQ(One(Number("q1", CodeN(1), "digital_rd_tools", "2019-Q1", 40)).outcome,
            Outcome::kAccepted);
  EXPECT_EQ(One(Number("q2", CodeN(1), "digital_rd_tools", "2019", 40)).reason,
            RejectReason::kWrongGranularity);
  auto retired = ingest_.RetireIndicator("digital_rd_tools", "replaced");
  ASSERT_THAT(retired, IsOk());
  EXPECT_EQ(retired->status, IndicatorStatus::kRetired);
  ItemResult r = One(Number("q3", CodeN(1), "digital_rd_tools", "2019-Q2", 40));
  EXPECT_EQ(r.reason, RejectReason::kRetiredIndicator);
  EXPECT_EQ(r.field, "indicator");
  // Its data stays readable.
  auto series = ingest_.GetSeries(CodeN(1), "digital_rd_tools", "", "");
  ASSERT_THAT(series, IsOk());
  EXPECT_THAT(*series, SizeIs(1));
  EXPECT_THAT(ingest_.ListIndicators(false, 0, "")->indicators, SizeIs(5));
  EXPECT_THAT(ingest_.ListIndicators(true, 0, "")->indicators, SizeIs(6));
  EXPECT_THAT(ingest_.RetireIndicator("nope", ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IngestTest, EveryValidationRuleRejectsWithItsReasonAndField) {
  struct Case {
    ObservationInput in;
    RejectReason reason;
    std::string field;
  };
  auto base = [] { return Number("r1", CodeN(1), "product_dev_cycle_days", "2018", 120); };
  std::vector<Case> cases;
  auto add = [&](std::function<void(ObservationInput&)> f, RejectReason reason, std::string field) {
    ObservationInput in = base();
    f(in);
    cases.push_back({in, reason, field});
  };
  add([](auto& o) { o.report_id = ""; }, RejectReason::kMissingField, "report_id");
  add([](auto& o) { o.report_id = "has space"; }, RejectReason::kMalformedField, "report_id");
  add([](auto& o) { o.report_id = std::string(65, 'a'); }, RejectReason::kMalformedField,
      "report_id");
  add([](auto& o) { o.enterprise_code = ""; }, RejectReason::kMissingField, "enterprise_code");
  add([](auto& o) { o.enterprise_code = "91440100000000011X"; }, RejectReason::kMalformedField,
      "enterprise_code");
  add([](auto& o) { o.indicator = ""; }, RejectReason::kMissingField, "indicator");
  add([](auto& o) { o.indicator = "profit"; }, RejectReason::kUnknownIndicator, "indicator");
  add([](auto& o) { o.period = ""; }, RejectReason::kMissingField, "period");
  add([](auto& o) { o.period = "2018-13"; }, RejectReason::kMalformedPeriod, "period");
  add([](auto& o) { o.period = "18"; }, RejectReason::kMalformedPeriod, "period");
  add([](auto& o) { o.period = "2018-Q2"; }, RejectReason::kWrongGranularity, "period");
  add([](auto& o) { o.period = "2020"; }, RejectReason::kFuturePeriod, "period");
  add([](auto& o) { o.kind = ObservationInput::ValueKind::kNone; }, RejectReason::kWrongValueType,
      "value");
  add([](auto& o) { o.kind = ObservationInput::ValueKind::kBool; }, RejectReason::kWrongValueType,
      "bool_value");
  add([](auto& o) { o.number_value = std::nan(""); }, RejectReason::kValueNotFinite,
      "number_value");
  add([](auto& o) { o.number_value = std::numeric_limits<double>::infinity(); },
      RejectReason::kValueNotFinite, "number_value");
  add([](auto& o) { o.number_value = 0; }, RejectReason::kValueOutOfRange, "number_value");
  add([](auto& o) { o.number_value = -3; }, RejectReason::kValueOutOfRange, "number_value");
  add(
      [](auto& o) {
        o.indicator = "energy_utilization_rate";
        o.number_value = 100.5;
      },
      RejectReason::kValueOutOfRange, "number_value");
  add([](auto& o) { o.indicator = "industry_cloud"; }, RejectReason::kWrongValueType,
      "number_value");
  add([](auto& o) { o.enterprise_code = CodeN(777); }, RejectReason::kUnknownEnterprise,
      "enterprise_code");
  add([](auto& o) { o.enterprise_code = CodeN(900); }, RejectReason::kArchivedEnterprise,
      "enterprise_code");
  std::vector<ObservationInput> batch;
  for (const auto& c : cases) batch.push_back(c.in);
  auto r = ingest_.Report("partner-44", batch);
  ASSERT_THAT(r, IsOk());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ((*r)[i].index, static_cast<int>(i));
    EXPECT_EQ((*r)[i].outcome, Outcome::kRejected) << i;
    EXPECT_EQ((*r)[i].reason, cases[i].reason) << i << " " << (*r)[i].message;
    EXPECT_EQ((*r)[i].field, cases[i].field) << i;
    EXPECT_FALSE((*r)[i].retryable) << i;
    EXPECT_FALSE((*r)[i].message.empty()) << i;
  }
  // Nothing was stored.
  EXPECT_EQ(ingest_.ListChanges(0, 0)->ingest_version, 0);
  // Boundaries that are valid: energy 0 and 100 inclusive.
  EXPECT_EQ(One(Number("e0", CodeN(1), "energy_utilization_rate", "2018", 0)).outcome,
            Outcome::kAccepted);
  EXPECT_EQ(One(Number("e1", CodeN(2), "energy_utilization_rate", "2018", 100)).outcome,
            Outcome::kAccepted);
  EXPECT_EQ(One(Number("now", CodeN(3), "product_dev_cycle_days", "2019", 10)).outcome,
            Outcome::kAccepted);
}

TEST_F(IngestTest, RegistryOutageIsRetryableAndStoresNothing) {
  directory_.SetUnavailable(true);
  ItemResult r = One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5));
  EXPECT_EQ(r.reason, RejectReason::kRegistryUnavailable);
  EXPECT_TRUE(r.retryable);
  directory_.SetUnavailable(false);
  EXPECT_EQ(One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5)).outcome,
            Outcome::kAccepted);
}

TEST_F(IngestTest, PolicyHookDeniesReportsOutsideTheReportersRegions) {
  ItemResult r = One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5), "partner-11");
  EXPECT_EQ(r.reason, RejectReason::kNotAuthorized);
  EXPECT_EQ(One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5), "partner-44").outcome,
            Outcome::kAccepted);
}

// The per-call policy is asked before existence and state, so that a refusal reveals
// neither; an unknown code is judged by the region embedded in it.
TEST_F(IngestTest, CallPolicyRefusesBeforeExistenceIsRevealed) {
  class Only11 : public ReportPolicy {
   public:
    bool MayReport(const std::string&, const EnterpriseInfo& e) override {
      return e.region.rfind("11", 0) == 0;
    }
  } only_11;
  std::string unknown_44 = CodeN(777);  // region 440100 embedded, not in the directory
  std::string unknown_11 = refdata::CompleteCreditCode("9111000000000777");
  auto r = ingest_.Report("partner-11",
                          {Number("c1", CodeN(1), "inventory_turnover", "2018", 5),
                           Number("c2", unknown_44, "inventory_turnover", "2018", 5),
                           Number("c3", CodeN(900), "inventory_turnover", "2018", 5),
                           Number("c4", unknown_11, "inventory_turnover", "2018", 5)},
                          &only_11);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(*r, SizeIs(4));
  EXPECT_EQ((*r)[0].reason, RejectReason::kNotAuthorized);
  EXPECT_EQ((*r)[1].reason, RejectReason::kNotAuthorized);  // not UNKNOWN_ENTERPRISE
  EXPECT_EQ((*r)[2].reason, RejectReason::kNotAuthorized);  // not ARCHIVED_ENTERPRISE
  EXPECT_EQ((*r)[3].reason, RejectReason::kUnknownEnterprise);
  EXPECT_EQ((*r)[0].field, "enterprise_code");
  // The core's own policy applies too.
  EXPECT_EQ(One(Number("c5", CodeN(2), "inventory_turnover", "2018", 5), "partner-11").reason,
            RejectReason::kNotAuthorized);
}

TEST_F(IngestTest, AcceptDuplicateReviseWithHistory) {
  ItemResult a = One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5));
  EXPECT_EQ(a.outcome, Outcome::kAccepted);
  EXPECT_EQ(a.revision, 1);
  // A resend of the same report.
  ItemResult d = One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5));
  EXPECT_EQ(d.outcome, Outcome::kDuplicate);
  EXPECT_EQ(d.revision, 1);
  // The same report id with other content.
  ItemResult reused = One(Number("r1", CodeN(1), "inventory_turnover", "2018", 6));
  EXPECT_EQ(reused.reason, RejectReason::kReportIdReused);
  EXPECT_EQ(reused.field, "report_id");
  // A new report with the same value: nothing changes.
  ItemResult same = One(Number("r2", CodeN(1), "inventory_turnover", "2018", 5));
  EXPECT_EQ(same.outcome, Outcome::kDuplicate);
  EXPECT_EQ(same.revision, 1);
  clock_.Advance(absl::Hours(1));
  ItemResult rev = One(Number("r3", CodeN(1), "inventory_turnover", "2018", 6.5));
  EXPECT_EQ(rev.outcome, Outcome::kRevised);
  EXPECT_EQ(rev.revision, 2);
  // A resend of the first report after the revision is still a duplicate, and the value
  // stays revised.
  EXPECT_EQ(One(Number("r1", CodeN(1), "inventory_turnover", "2018", 5)).outcome,
            Outcome::kDuplicate);
  auto history = ingest_.GetHistory(CodeN(1), "inventory_turnover", "2018");
  ASSERT_THAT(history, IsOk());
  ASSERT_THAT(*history, SizeIs(2));
  EXPECT_EQ((*history)[0].revision, 1);
  EXPECT_EQ((*history)[0].report_id, "r1");
  EXPECT_EQ((*history)[0].reporter, "partner-44");
  EXPECT_FALSE((*history)[0].old_value.has_value());
  EXPECT_EQ((*history)[0].new_value, 5);
  EXPECT_EQ((*history)[1].revision, 2);
  EXPECT_EQ((*history)[1].old_value, 5);
  EXPECT_EQ((*history)[1].new_value, 6.5);
  EXPECT_EQ((*history)[1].time, clock_.Now());
  auto series = ingest_.GetSeries(CodeN(1), "inventory_turnover", "2015", "2018");
  ASSERT_THAT(series, IsOk());
  ASSERT_THAT(*series, SizeIs(1));
  EXPECT_EQ((*series)[0].entry.value, 6.5);
  EXPECT_EQ((*series)[0].period, "2018");
}

TEST_F(IngestTest, SameSeriesTwiceInOneBatchAppliesInOrder) {
  auto r = ingest_.Report("p", {Number("a", CodeN(1), "inventory_turnover", "2017", 4),
                                Number("b", CodeN(1), "inventory_turnover", "2018", 5),
                                Number("c", CodeN(1), "inventory_turnover", "2018", 7),
                                Number("a", CodeN(1), "inventory_turnover", "2017", 4)});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ((*r)[0].outcome, Outcome::kAccepted);
  EXPECT_EQ((*r)[1].outcome, Outcome::kAccepted);
  EXPECT_EQ((*r)[2].outcome, Outcome::kRevised);
  EXPECT_EQ((*r)[2].revision, 2);
  EXPECT_EQ((*r)[3].outcome, Outcome::kDuplicate);
  auto series = ingest_.GetSeries(CodeN(1), "inventory_turnover", "", "");
  ASSERT_THAT(*series, SizeIs(2));
  EXPECT_EQ((*series)[1].entry.value, 7);
}

TEST_F(IngestTest, ResendOfALongChainOfRevisionsIsAllDuplicates) {
  std::vector<ObservationInput> chain;
  for (int i = 0; i < 12; ++i) {
    chain.push_back(Number(absl::StrCat("v", i), CodeN(1), "inventory_turnover", "2018", 1 + i));
  }
  auto first = ingest_.Report("p", chain);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ((*first)[11].outcome, Outcome::kRevised);
  EXPECT_EQ((*first)[11].revision, 12);
  auto again = ingest_.Report("p", chain);
  ASSERT_THAT(again, IsOk());
  for (const auto& r : *again) {
    EXPECT_EQ(r.outcome, Outcome::kDuplicate) << r.index << " " << r.message;
    EXPECT_EQ(r.revision, 12) << r.index;
  }
  EXPECT_EQ(ingest_.GetSeries(CodeN(1), "inventory_turnover", "", "")->at(0).entry.value, 12);
}

TEST_F(IngestTest, ConcurrentWriterIsDetectedAndTheItemReprepared) {
  ASSERT_EQ(One(Number("a", CodeN(1), "inventory_turnover", "2017", 4)).outcome,
            Outcome::kAccepted);
  // Another replica revises 2017 between our read and our write.
  store_.BeforeNextApply([&] {
    auto other = ingest_.Report("other", {Number("x", CodeN(1), "inventory_turnover", "2017", 9)});
    ASSERT_THAT(other, IsOk());
    EXPECT_EQ((*other)[0].outcome, Outcome::kRevised);
  });
  ItemResult r = One(Number("b", CodeN(1), "inventory_turnover", "2018", 5));
  EXPECT_EQ(r.outcome, Outcome::kAccepted);
  auto series = ingest_.GetSeries(CodeN(1), "inventory_turnover", "", "");
  ASSERT_THAT(*series, SizeIs(2));
  EXPECT_EQ((*series)[0].entry.value, 9);  // the other writer's revision survived
  EXPECT_EQ((*series)[1].entry.value, 5);
}

TEST_F(IngestTest, BooleansAndColumnsAndCoverage) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(
        One(Bool(absl::StrCat("b", i), CodeN(i), "industry_cloud", "2018", i % 3 == 0)).outcome,
        Outcome::kAccepted);
  }
  std::vector<std::pair<std::string, double>> seen;
  int64_t version = -1;
  ASSERT_THAT(ingest_.Scan("industry_cloud", "2018", 4,
                           [&](const auto& batch, int64_t v) {
                             EXPECT_LE(batch.size(), 4u);
                             version = v;
                             seen.insert(seen.end(), batch.begin(), batch.end());
                             return true;
                           }),
              IsOk());
  ASSERT_THAT(seen, SizeIs(10));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen[0].second, 1.0);
  EXPECT_EQ(seen[1].second, 0.0);
  EXPECT_EQ(version, 10);
  auto coverage = ingest_.GetCoverage("industry_cloud", "2017", "2018");
  ASSERT_THAT(coverage, IsOk());
  ASSERT_THAT(*coverage, SizeIs(2));
  EXPECT_EQ((*coverage)[0].reporters, 0);
  EXPECT_EQ((*coverage)[1].reporters, 10);
  EXPECT_EQ((*coverage)[1].data_version, 10);
  // A duplicate changes no version.
  One(Bool("b1", CodeN(1), "industry_cloud", "2018", false));
  EXPECT_EQ((*ingest_.GetCoverage("industry_cloud", "2018", "2018"))[0].data_version, 10);
}

TEST_F(IngestTest, VersionsAndChanges) {
  auto r = ingest_.Report("p", {Number("a", CodeN(1), "inventory_turnover", "2017", 4),
                                Number("b", CodeN(2), "inventory_turnover", "2017", 5),
                                Number("c", CodeN(1), "inventory_turnover", "2018", 5)});
  ASSERT_THAT(r, IsOk());
  auto versions = ingest_.GetDataVersions({DataKey{"inventory_turnover", "2017"},
                                           DataKey{"inventory_turnover", "2018"},
                                           DataKey{"inventory_turnover", "2016"}});
  ASSERT_THAT(versions, IsOk());
  EXPECT_THAT(versions->first, ElementsAre(1, 1, 0));  // one bump per key per batch
  EXPECT_EQ(versions->second, 2);
  auto changes = ingest_.ListChanges(0, 0);
  ASSERT_THAT(changes, IsOk());
  ASSERT_THAT(changes->changes, SizeIs(2));
  EXPECT_EQ(changes->changes[0].key.period, "2017");
  EXPECT_TRUE(changes->changes[0].listed);
  EXPECT_THAT(changes->changes[0].values,
              ElementsAre(std::make_pair(CodeN(1), 4.0), std::make_pair(CodeN(2), 5.0)));
  EXPECT_EQ(changes->changes[1].version, 2);
  EXPECT_THAT(changes->changes[1].values, ElementsAre(std::make_pair(CodeN(1), 5.0)));
  EXPECT_THAT(ingest_.GetDataVersions({DataKey{"nope", "2018"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ingest_.ListChanges(-1, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IngestTest, OutlierFlagsAgainstOwnHistoryPeersAndHardRange) {
  // Own history: 100, 102, 98, 101 then 400.
  int y = 2012;
  for (double v : {100.0, 102.0, 98.0, 101.0}) {
    ItemResult r =
        One(Number(absl::StrCat("h", y), CodeN(1), "product_dev_cycle_days", absl::StrCat(y), v));
    EXPECT_EQ(r.outcome, Outcome::kAccepted);
    EXPECT_THAT(r.flags, SizeIs(0));
    ++y;
  }
  ItemResult jump = One(Number("h2016", CodeN(1), "product_dev_cycle_days", "2016", 400));
  ASSERT_EQ(jump.outcome, Outcome::kAccepted);
  ASSERT_THAT(jump.flags, SizeIs(1));
  EXPECT_EQ(jump.flags[0].kind, OutlierKind::kOwnHistory);
  // median 100.5, |dev| {0.5,1.5,2.5,0.5} → MAD 1; M = 0.6745 * 299.5 / 1.
  EXPECT_NEAR(jump.flags[0].score, 0.6745 * 299.5, 1e-9);
  EXPECT_EQ(jump.flags[0].threshold, 3.5);

  // Peers: 20 enterprises of C26 around 10, then one at 60.
  for (int i = 10; i < 30; ++i) {
    One(Number(absl::StrCat("p", i), CodeN(i), "inventory_turnover", "2018", 10 + (i % 5) * 0.5));
  }
  ItemResult peer = One(Number("p40", CodeN(40), "inventory_turnover", "2018", 60));
  ASSERT_EQ(peer.outcome, Outcome::kAccepted);
  ASSERT_THAT(peer.flags, SizeIs(1));
  EXPECT_EQ(peer.flags[0].kind, OutlierKind::kIndustryPeers);
  EXPECT_GT(peer.flags[0].score, 3.5);

  // Hard range: 99.5 % energy utilization is valid but implausible.
  ItemResult hard = One(Number("e", CodeN(41), "energy_utilization_rate", "2018", 99.5));
  ASSERT_EQ(hard.outcome, Outcome::kAccepted);
  ASSERT_THAT(hard.flags, SizeIs(1));
  EXPECT_EQ(hard.flags[0].kind, OutlierKind::kHardRange);
  // Flags are stored with the value.
  auto series = ingest_.GetSeries(CodeN(41), "energy_utilization_rate", "", "");
  ASSERT_THAT((*series)[0].entry.flags, SizeIs(1));
}

TEST_F(IngestTest, BatchLimitsAndStoreOutage) {
  EXPECT_THAT(ingest_.Report("p", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<ObservationInput> many(5001, Number("x", CodeN(1), "inventory_turnover", "2018", 1));
  EXPECT_THAT(ingest_.Report("p", many), StatusIs(absl::StatusCode::kInvalidArgument));
  store_.SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(ingest_.Report("p", {Number("x", CodeN(1), "inventory_turnover", "2018", 1)}),
              StatusIs(absl::StatusCode::kUnavailable));
  store_.SetFailure(absl::OkStatus());
  EXPECT_EQ(One(Number("x", CodeN(1), "inventory_turnover", "2018", 1)).outcome,
            Outcome::kAccepted);
}

TEST_F(IngestTest, ReadErrors) {
  EXPECT_THAT(ingest_.GetSeries("bad", "inventory_turnover", "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ingest_.GetSeries(CodeN(1), "nope", "", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ingest_.GetSeries(CodeN(1), "inventory_turnover", "2018-Q1", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ingest_.GetCoverage("inventory_turnover", "2018", "2017"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ingest_.Scan("inventory_turnover", "2018", 50001, [](auto&, auto) { return true; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ingest_.GetHistory(CodeN(1), "inventory_turnover", "2018-07"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto empty = ingest_.GetHistory(CodeN(1), "inventory_turnover", "2018");
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(*empty, SizeIs(0));
}

}  // namespace
}  // namespace iplus::ingest

namespace iplus::ingest {
namespace {

TEST(PeerSeedingTest, ANewProcessLearnsPeersFromTheStoredColumn) {
  MemoryStore store;
  FakeDirectory directory;
  FakeClock clock(absl::FromUnixSeconds(1559347200));
  for (int i = 0; i < 40; ++i) directory.Add(CodeN(i));
  {
    PeerStats first_peers;
    Ingest first(&store, &directory, &clock, &first_peers, nullptr, IngestConfig{});
    ASSERT_THAT(first.SeedCatalogue(), IsOk());
    std::vector<ObservationInput> batch;
    for (int i = 0; i < 20; ++i) {
      batch.push_back(
          Number(absl::StrCat("p", i), CodeN(i), "inventory_turnover", "2018", 10 + (i % 5) * 0.5));
    }
    ASSERT_THAT(first.Report("p", batch), IsOk());
  }
  // A restarted process: empty samples, seeded from the store on first use.
  PeerStats peers;
  IngestConfig config;
  config.seed_peers = true;
  Ingest restarted(&store, &directory, &clock, &peers, nullptr, config);
  auto normal = restarted.Report("p", {Number("n", CodeN(30), "inventory_turnover", "2018", 10.5)});
  ASSERT_THAT(normal, IsOk());
  restarted.WaitForPeerSeeding();
  EXPECT_GE(peers.Count("inventory_turnover|2018|C26"), 20u);
  auto outlier = restarted.Report("p", {Number("o", CodeN(31), "inventory_turnover", "2018", 60)});
  ASSERT_THAT(outlier, IsOk());
  ASSERT_THAT((*outlier)[0].flags, SizeIs(1));
  EXPECT_EQ((*outlier)[0].flags[0].kind, OutlierKind::kIndustryPeers);
}

}  // namespace
}  // namespace iplus::ingest
