#include "services/evaluation/domain/evaluate.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/refdata/period.h"
#include "common/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::evaluation {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr double kEps = 1e-9;
const char kNum[] = "product_dev_cycle_days";
const char kBool[] = "innovation_platform";

Period Y(int year) { return Period::Year(year); }

Scope S(std::string region, std::string industry = "", int ownership = 0, int size = 0,
        bool key_only = false, int kind = 0) {
  Scope s;
  s.region_prefix = std::move(region);
  s.industry_prefix = std::move(industry);
  s.ownership = ownership;
  s.size = size;
  s.key_only = key_only;
  s.kind = kind;
  return s;
}

// An enterprise with plain defaults: a private, large manufacturer in Guangzhou.
struct Ent {
  std::string region = "440103";
  std::string industry = "C2614";
  uint8_t kind = 1;
  uint8_t ownership = 3;
  uint8_t size = 1;
  bool key = false;
  bool archived = false;

  Ent& Region(std::string v) {
    region = std::move(v);
    return *this;
  }
  Ent& Industry(std::string v) {
    industry = std::move(v);
    return *this;
  }
  Ent& Kind(uint8_t v) {
    kind = v;
    return *this;
  }
  Ent& Ownership(uint8_t v) {
    ownership = v;
    return *this;
  }
  Ent& Size(uint8_t v) {
    size = v;
    return *this;
  }
  Ent& Archived() {
    archived = true;
    return *this;
  }
};

class Data {
 public:
  int32_t Add(const Ent& e = Ent{}) {
    EnterpriseAttrs a;
    a.region = e.region;
    a.industry = e.industry;
    a.kind = e.kind;
    a.ownership = e.ownership;
    a.size = e.size;
    a.key = e.key;
    a.archived = e.archived;
    return data.Upsert(absl::StrCat("E", data.size()), a);
  }
  // Adds an enterprise with values by year (nullopt: no value).
  int32_t AddSeries(const std::string& indicator, std::vector<std::pair<int, double>> series,
                    const Ent& e = Ent{}) {
    int32_t i = Add(e);
    for (const auto& [year, value] : series) data.SetValue(indicator, Y(year), i, value, 1);
    return i;
  }
  Dataset data;
};

Target MeanTarget(Rule rule = Rule{Rule::Kind::kRelativeChange, Comparison::kUnspecified, -0.12}) {
  Target t;
  t.id = "dev-cycle";
  t.title = "Product development cycle";
  t.indicator = kNum;
  t.aggregation = Aggregation::kMean;
  t.rule = rule;
  t.baseline = Y(2015);
  t.deadline = Y(2018);
  t.etag = "etag-1";
  return t;
}

Target BoolTarget(Aggregation aggregation, Rule rule) {
  Target t;
  t.id = "platform-coverage";
  t.title = "Platform coverage";
  t.indicator = kBool;
  t.aggregation = aggregation;
  t.rule = rule;
  t.baseline = Y(2015);
  t.deadline = Y(2018);
  return t;
}

Rule Absolute(Comparison c, double x) { return Rule{Rule::Kind::kAbsolute, c, x}; }
Rule Multiple(double m) { return Rule{Rule::Kind::kMultiple, Comparison::kUnspecified, m}; }
Rule Relative(double r) { return Rule{Rule::Kind::kRelativeChange, Comparison::kUnspecified, r}; }

std::vector<std::string> Fields(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolations(s)) out.push_back(v.field);
  return out;
}

std::vector<std::string> PointPeriods(const Result& r) {
  std::vector<std::string> out;
  for (const auto& p : r.points) out.push_back(p.period.ToString());
  return out;
}

// ---------------------------------------------------------------------------------------
// Rules and small functions.

TEST(TargetValue, EveryRuleKind) {
  EXPECT_THAT(TargetValue(Absolute(Comparison::kGe, 0.8), std::nullopt), Optional(0.8));
  EXPECT_THAT(TargetValue(Multiple(2), 3.0), Optional(6.0));
  EXPECT_EQ(TargetValue(Multiple(2), std::nullopt), std::nullopt);
  EXPECT_THAT(TargetValue(Relative(-0.12), 100.0), Optional(DoubleNear(88, kEps)));
  EXPECT_THAT(TargetValue(Relative(0.25), 2.0), Optional(DoubleNear(2.5, kEps)));
  EXPECT_EQ(TargetValue(Relative(0.25), std::nullopt), std::nullopt);
  EXPECT_EQ(TargetValue(Rule{}, 1.0), std::nullopt);
}

TEST(Meets, DirectionOfEveryRuleKind) {
  EXPECT_TRUE(Meets(Absolute(Comparison::kGe, 0.8), 0.8, 0.8));
  EXPECT_FALSE(Meets(Absolute(Comparison::kGe, 0.8), 0.79, 0.8));
  EXPECT_TRUE(Meets(Absolute(Comparison::kLe, 10), 9, 10));
  EXPECT_FALSE(Meets(Absolute(Comparison::kLe, 10), 11, 10));
  EXPECT_TRUE(Meets(Multiple(2), 6, 6));  // >= for a multiple >= 1
  EXPECT_FALSE(Meets(Multiple(2), 5.9, 6));
  EXPECT_TRUE(Meets(Multiple(0.5), 4, 5));  // <= for a multiple < 1
  EXPECT_FALSE(Meets(Multiple(0.5), 6, 5));
  EXPECT_TRUE(Meets(Relative(-0.12), 86, 88));  // <= for a negative change
  EXPECT_FALSE(Meets(Relative(-0.12), 89, 88));
  EXPECT_TRUE(Meets(Relative(0.25), 3, 2.5));  // >= for a positive change
  EXPECT_FALSE(Meets(Relative(0.25), 2.4, 2.5));
  EXPECT_FALSE(Meets(Rule{}, 1, 1));
}

TEST(Meets, RelativeToleranceMakes62Times105Equal651) {
  std::optional<double> target = TargetValue(Relative(0.05), 62.0);
  ASSERT_TRUE(target.has_value());
  EXPECT_NE(*target, 65.1);  // 62 * 1.05 is 65.10000000000001 in binary floating point
  EXPECT_TRUE(Meets(Relative(0.05), 65.1, *target));
  EXPECT_TRUE(Meets(Multiple(1.05), 65.1, 62 * 1.05));
  // The tolerance is relative and tiny: a real shortfall is not met.
  EXPECT_FALSE(Meets(Relative(0.05), 65.0999999, *target));
  EXPECT_TRUE(Meets(Relative(-0.12), 88 * (1 + 1e-13), 88));
  EXPECT_FALSE(Meets(Relative(-0.12), 88 * (1 + 1e-11), 88));
}

TEST(PanelMode, DefaultsByAggregation) {
  Target t = MeanTarget();
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kMatched);
  t.aggregation = Aggregation::kMedian;
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kMatched);
  t.aggregation = Aggregation::kShareTrue;
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kAllReporters);
  t.aggregation = Aggregation::kCountTrue;
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kAllReporters);
  t.panel_mode = PanelMode::kMatched;
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kMatched);
  t.aggregation = Aggregation::kMean;
  t.panel_mode = PanelMode::kAllReporters;
  EXPECT_EQ(EffectivePanelMode(t), PanelMode::kAllReporters);
}

TEST(CoverageFloor, DefaultAndSet) {
  Target t = MeanTarget();
  EXPECT_DOUBLE_EQ(CoverageFloor(t), 0.3);
  t.coverage_floor = 0.5;
  EXPECT_DOUBLE_EQ(CoverageFloor(t), 0.5);
  t.coverage_floor = 0;
  EXPECT_DOUBLE_EQ(CoverageFloor(t), 0);
}

TEST(InPopulation, PopulationAndScopeFields) {
  EnterpriseAttrs e;
  e.region = "440103";
  e.industry = "C2614";
  e.kind = 1;
  e.ownership = 3;
  e.size = 2;
  e.key = false;
  EXPECT_TRUE(InPopulation(e, Population{}, Scope{}));
  EXPECT_TRUE(InPopulation(e, Population{1, false, 3, 2}, Scope{}));
  EXPECT_FALSE(InPopulation(e, Population{2, false, 0, 0}, Scope{}));
  EXPECT_FALSE(InPopulation(e, Population{0, true, 0, 0}, Scope{}));
  EXPECT_FALSE(InPopulation(e, Population{0, false, 1, 0}, Scope{}));
  EXPECT_FALSE(InPopulation(e, Population{0, false, 0, 1}, Scope{}));
  Scope s;
  s.region_prefix = "4401";
  EXPECT_TRUE(InPopulation(e, Population{}, s));
  s.region_prefix = "4403";
  EXPECT_FALSE(InPopulation(e, Population{}, s));
  s.region_prefix = "440103";
  EXPECT_TRUE(InPopulation(e, Population{}, s));
  s.region_prefix = "";
  s.industry_prefix = "C26";
  EXPECT_TRUE(InPopulation(e, Population{}, s));
  s.industry_prefix = "C261";
  EXPECT_TRUE(InPopulation(e, Population{}, s));
  s.industry_prefix = "C27";
  EXPECT_FALSE(InPopulation(e, Population{}, s));
  EXPECT_FALSE(InPopulation(e, Population{}, S("", "", 0, 0, true, 0)));
  EXPECT_FALSE(InPopulation(e, Population{}, S("", "", 1, 0, false, 0)));
  EXPECT_FALSE(InPopulation(e, Population{}, S("", "", 0, 3, false, 0)));
  EXPECT_FALSE(InPopulation(e, Population{}, S("", "", 0, 0, false, 5)));
  e.key = true;
  EXPECT_TRUE(InPopulation(e, Population{0, true, 0, 0}, S("", "", 0, 0, true, 0)));
  e.archived = true;
  EXPECT_FALSE(InPopulation(e, Population{}, Scope{}));
}

// ---------------------------------------------------------------------------------------
// Aggregations.

TEST(Evaluate, ShareTrueOverAllReporters) {
  Data d;
  // 2015: 2 of 5 true; 2018: 4 of 5 true (one non-reporter in the population).
  d.AddSeries(kBool, {{2015, 1}, {2018, 1}});
  d.AddSeries(kBool, {{2015, 1}, {2018, 1}});
  d.AddSeries(kBool, {{2015, 0}, {2018, 1}});
  d.AddSeries(kBool, {{2015, 0}, {2018, 1}});
  d.AddSeries(kBool, {{2015, 0}, {2018, 0}});
  d.Add();
  Target t = BoolTarget(Aggregation::kShareTrue, Absolute(Comparison::kGe, 0.8));
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_EQ(r.panel_mode, PanelMode::kAllReporters);
  EXPECT_THAT(r.baseline_value, Optional(DoubleNear(0.4, kEps)));
  EXPECT_THAT(r.current_value, Optional(DoubleNear(0.8, kEps)));
  EXPECT_THAT(r.target_value, Optional(0.8));
  EXPECT_THAT(r.progress, Optional(DoubleNear(1, kEps)));
  EXPECT_DOUBLE_EQ(r.expected_progress, 1);
  EXPECT_EQ(r.status, Status::kAchieved);
  EXPECT_EQ(r.status_reason, "current 0.8 meets >= 0.8");
  EXPECT_EQ(r.population, 6);
  EXPECT_EQ(r.baseline_reporters, 5);
  EXPECT_EQ(r.current_reporters, 5);
  EXPECT_DOUBLE_EQ(r.coverage_ratio, 5.0 / 6);
  EXPECT_DOUBLE_EQ(r.baseline_coverage_ratio, 5.0 / 6);
  EXPECT_EQ(r.panel_size, 5);
}

TEST(Evaluate, CountTrueTwiceTheBaseline) {
  Data d;
  // 2015: 3 true of 6; 2016: 4; 2018: 6 true.
  for (int i = 0; i < 6; ++i) {
    d.AddSeries(kBool, {{2015, i < 3 ? 1.0 : 0.0}, {2016, i < 4 ? 1.0 : 0.0}, {2018, 1}});
  }
  Target t = BoolTarget(Aggregation::kCountTrue, Multiple(2));
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_THAT(r.baseline_value, Optional(3.0));
  EXPECT_THAT(r.current_value, Optional(6.0));
  EXPECT_THAT(r.target_value, Optional(6.0));
  EXPECT_THAT(r.progress, Optional(DoubleNear(1, kEps)));
  EXPECT_EQ(r.status, Status::kAchieved);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_THAT(PointPeriods(r), ElementsAre("2015", "2016", "2018"));
  EXPECT_DOUBLE_EQ(r.points[1].value, 4);
  EXPECT_EQ(r.points[1].reporters, 6);

  // In 2016 the count is 4 of the 6 required: (4-3)/(6-3) of the way.
  Result r16 = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r16.progress, Optional(DoubleNear(1.0 / 3, kEps)));
  EXPECT_DOUBLE_EQ(r16.expected_progress, 1.0 / 3);
  // Points (2015, 3), (2016, 4): forecast at 2018 = 6, the whole gap.
  EXPECT_THAT(r16.forecast_value, Optional(DoubleNear(6, kEps)));
  EXPECT_EQ(r16.status, Status::kOnTrack);
}

TEST(Evaluate, MeanAndOddMedian) {
  Data d;
  d.AddSeries(kNum, {{2015, 7}, {2016, 7}});
  d.AddSeries(kNum, {{2015, 1}, {2016, 1}});
  d.AddSeries(kNum, {{2015, 3}, {2016, 2}});
  Target mean = MeanTarget(Absolute(Comparison::kLe, 1));
  Result r = Evaluate(mean, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.baseline_value, Optional(DoubleNear(11.0 / 3, kEps)));
  EXPECT_THAT(r.current_value, Optional(DoubleNear(10.0 / 3, kEps)));
  Target median = mean;
  median.aggregation = Aggregation::kMedian;
  r = Evaluate(median, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.baseline_value, Optional(3.0));
  EXPECT_THAT(r.current_value, Optional(2.0));
}

TEST(Evaluate, MedianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues) {
  Data d;
  d.AddSeries(kNum, {{2015, 1}, {2016, 8}});
  d.AddSeries(kNum, {{2015, 10}, {2016, 2}});
  d.AddSeries(kNum, {{2015, 3}, {2016, 4}});
  d.AddSeries(kNum, {{2015, 5}, {2016, 100}});
  Target t = MeanTarget(Absolute(Comparison::kLe, 1));
  t.aggregation = Aggregation::kMedian;
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.baseline_value, Optional(4.0));  // 1 3 | 5 10
  EXPECT_THAT(r.current_value, Optional(6.0));   // 2 4 | 8 100
}

// ---------------------------------------------------------------------------------------
// Panels.

// A leaves nothing, B stays, C leaves after 2015, D joins in 2018.
Data JoinersAndLeavers() {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2018, 95}});   // A
  d.AddSeries(kNum, {{2015, 200}, {2018, 180}});  // B
  d.AddSeries(kNum, {{2015, 300}});               // C leaves
  d.AddSeries(kNum, {{2018, 50}});                // D joins
  return d;
}

TEST(Evaluate, MatchedPanelIgnoresJoinersAndLeavers) {
  Data d = JoinersAndLeavers();
  Target t = MeanTarget();  // mean <= base * 0.88, matched by default
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_EQ(r.panel_mode, PanelMode::kMatched);
  EXPECT_EQ(r.panel_size, 2);
  EXPECT_EQ(r.population, 4);
  EXPECT_EQ(r.baseline_reporters, 3);
  EXPECT_EQ(r.current_reporters, 3);
  // Base and current over the panel {A, B}.
  EXPECT_THAT(r.baseline_value, Optional(DoubleNear(150, kEps)));
  EXPECT_THAT(r.current_value, Optional(DoubleNear(137.5, kEps)));
  EXPECT_THAT(r.target_value, Optional(DoubleNear(132, kEps)));
  EXPECT_THAT(r.progress, Optional(DoubleNear(12.5 / 18, kEps)));
  // Points: 2015 over all three 2015 reporters, 2018 over the (2015, 2018) panel.
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_DOUBLE_EQ(r.points[0].value, 200);
  EXPECT_EQ(r.points[0].reporters, 3);
  EXPECT_DOUBLE_EQ(r.points[1].value, 137.5);
  EXPECT_EQ(r.points[1].reporters, 2);
  // Two points, the last at the deadline: the forecast is the 2018 point, which
  // covers (137.5 - 150) / (132 - 150) = 0.69 of the gap.
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(137.5, kEps)));
  EXPECT_EQ(r.status, Status::kAtRisk);
  EXPECT_EQ(r.status_reason,
            "forecast at 2018 covers 69 % of the gap (at least half): 137.5, target <= 132");
}

TEST(Evaluate, AllReportersCountsWhoeverReported) {
  Data d = JoinersAndLeavers();
  Target t = MeanTarget();
  t.panel_mode = PanelMode::kAllReporters;
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_EQ(r.panel_mode, PanelMode::kAllReporters);
  EXPECT_EQ(r.panel_size, 2);  // still stated
  EXPECT_THAT(r.baseline_value, Optional(DoubleNear(200, kEps)));
  EXPECT_THAT(r.current_value, Optional(DoubleNear(325.0 / 3, kEps)));
  EXPECT_THAT(r.target_value, Optional(DoubleNear(176, kEps)));
  EXPECT_THAT(r.progress, Optional(DoubleNear((325.0 / 3 - 200) / (176 - 200), kEps)));
  EXPECT_EQ(r.status, Status::kAchieved);  // the spurious success the matched panel avoids
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(r.points[1].reporters, 3);
}

TEST(Evaluate, MatchedPanelPointsUseThePanelOfEachYear) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2016, 90}, {2017, 80}});
  d.AddSeries(kNum, {{2015, 200}, {2016, 190}});
  d.AddSeries(kNum, {{2016, 10}, {2017, 10}});  // never in a panel
  Target t = MeanTarget();
  t.coverage_floor = 0;
  Result r = Evaluate(t, Scope{}, Y(2017), d.data);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_DOUBLE_EQ(r.points[0].value, 150);  // all 2015 reporters
  EXPECT_EQ(r.points[0].reporters, 2);
  EXPECT_DOUBLE_EQ(r.points[1].value, 140);  // (2015, 2016) panel {A, B}
  EXPECT_EQ(r.points[1].reporters, 2);
  EXPECT_DOUBLE_EQ(r.points[2].value, 80);  // (2015, 2017) panel {A}
  EXPECT_EQ(r.points[2].reporters, 1);
  EXPECT_THAT(r.baseline_value, Optional(100.0));  // over the (2015, 2017) panel
  EXPECT_THAT(r.current_value, Optional(80.0));
  EXPECT_EQ(r.panel_size, 1);
  // OLS over (2015, 150), (2016, 140), (2017, 80): slope -35, mean 123.33 at 2016.
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(370.0 / 3 - 35 * 2, kEps)));
  EXPECT_EQ(r.status, Status::kAchieved);  // 80 <= 88
}

TEST(Evaluate, EmptyMatchedPanelIsInsufficient) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}});
  d.AddSeries(kNum, {{2018, 80}});
  Target t = MeanTarget();
  t.coverage_floor = 0;
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_EQ(r.panel_size, 0);
  EXPECT_EQ(r.baseline_value, std::nullopt);
  EXPECT_EQ(r.current_value, std::nullopt);
  EXPECT_EQ(r.target_value, std::nullopt);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_THAT(r.status_reason, HasSubstr("no enterprise reported in both 2015 and 2018"));
}

// ---------------------------------------------------------------------------------------
// Statuses and the forecast: mean <= 0.88 x base over two enterprises that always report.

Result TwoYear(double mean2016) {
  Data d;
  d.AddSeries(kNum, {{2015, 90}, {2016, mean2016 - 10}});
  d.AddSeries(kNum, {{2015, 110}, {2016, mean2016 + 10}});
  return Evaluate(MeanTarget(), Scope{}, Y(2016), d.data);
}

TEST(Status, OnTrack) {
  Result r = TwoYear(95);  // forecast 85: f = 15/12
  EXPECT_THAT(r.baseline_value, Optional(DoubleNear(100, kEps)));
  EXPECT_THAT(r.target_value, Optional(DoubleNear(88, kEps)));
  EXPECT_THAT(r.progress, Optional(DoubleNear(5.0 / 12, kEps)));
  EXPECT_DOUBLE_EQ(r.expected_progress, 1.0 / 3);
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(85, kEps)));
  EXPECT_EQ(r.status, Status::kOnTrack);
  EXPECT_EQ(r.status_reason, "forecast at 2018 covers 125 % of the gap: 85 meets <= 88");
}

TEST(Status, OnTrackExactlyAtTheTarget) {
  Result r = TwoYear(96);  // forecast 88: f = 1
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(88, kEps)));
  EXPECT_EQ(r.status, Status::kOnTrack);
}

TEST(Status, AtRisk) {
  Result r = TwoYear(97);  // forecast 91: f = 9/12
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(91, kEps)));
  EXPECT_EQ(r.status, Status::kAtRisk);
  EXPECT_EQ(r.status_reason,
            "forecast at 2018 covers 75 % of the gap (at least half): 91, target <= 88");
}

TEST(Status, AtRiskExactlyAtHalf) {
  Result r = TwoYear(98);  // forecast 94: f = 0.5
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(94, kEps)));
  EXPECT_EQ(r.status, Status::kAtRisk);
}

TEST(Status, OffTrack) {
  Result r = TwoYear(99);  // forecast 97: f = 0.25
  EXPECT_EQ(r.status, Status::kOffTrack);
  EXPECT_EQ(r.status_reason,
            "forecast at 2018 covers 25 % of the gap (under half): 97, target <= 88");
}

TEST(Status, TrendMovingAway) {
  Result r = TwoYear(104);                                         // forecast 112: f = -1
  EXPECT_THAT(r.progress, Optional(DoubleNear(-4.0 / 12, kEps)));  // not clamped
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(112, kEps)));
  EXPECT_EQ(r.status, Status::kOffTrack);
  EXPECT_THAT(r.status_reason, HasSubstr("covers -100 % of the gap"));
}

TEST(Status, AlreadyMetIsAchievedWithProgressAboveOne) {
  Result r = TwoYear(82);
  EXPECT_THAT(r.progress, Optional(DoubleNear(1.5, kEps)));  // not clamped
  EXPECT_EQ(r.status, Status::kAchieved);
  EXPECT_EQ(r.status_reason, "current 82 meets <= 88");
}

TEST(Status, ThreePointForecast) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2016, 96}, {2017, 95}});
  Result r = Evaluate(MeanTarget(), Scope{}, Y(2017), d.data);
  // mean x 2016, mean y 97, slope -5/2: forecast at 2018 = 97 - 2.5 * 2 = 92.
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(92, kEps)));
  EXPECT_DOUBLE_EQ(r.expected_progress, 2.0 / 3);
  EXPECT_EQ(r.status, Status::kAtRisk);  // f = 8/12
}

TEST(Status, GapsInYearsStayGaps) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2017, 94}});
  d.Add();  // a non-reporter
  Target t = MeanTarget();
  t.coverage_floor = 0.5;
  Result r = Evaluate(t, Scope{}, Y(2017), d.data);
  EXPECT_THAT(PointPeriods(r), ElementsAre("2015", "2017"));
  // x is the calendar year: slope -3 a year, forecast at 2018 = 91 (not 88).
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(91, kEps)));
  EXPECT_EQ(r.status, Status::kAtRisk);
  ASSERT_EQ(r.ingest_versions.size(), 3u);  // 2015, 2016, 2017: every period read
  EXPECT_EQ(r.ingest_versions[1].period, Y(2016));
  EXPECT_EQ(r.ingest_versions[1].version, 0);
}

TEST(Status, FewerThanTwoPointsIsInsufficient) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}});
  d.AddSeries(kNum, {{2015, 110}});
  Result r = Evaluate(MeanTarget(), Scope{}, Y(2015), d.data);
  EXPECT_THAT(r.baseline_value, Optional(105.0));
  EXPECT_THAT(r.current_value, Optional(105.0));
  EXPECT_THAT(r.progress, Optional(0.0));
  EXPECT_DOUBLE_EQ(r.expected_progress, 0);
  EXPECT_EQ(r.forecast_value, std::nullopt);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.status_reason,
            "only 1 period with reporters from 2015 to 2015; a forecast needs two");
}

TEST(Status, NoBaselineReporters) {
  Data d;
  d.AddSeries(kNum, {{2016, 100}});
  d.AddSeries(kNum, {{2016, 80}});
  Target t = MeanTarget();
  t.coverage_floor = 0;
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_EQ(r.baseline_value, std::nullopt);
  EXPECT_EQ(r.target_value, std::nullopt);
  EXPECT_EQ(r.progress, std::nullopt);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.status_reason, "no reporters in 2015");
}

TEST(Status, EmptyPopulation) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}}, Ent().Region("110105"));
  Scope s;
  s.region_prefix = "44";
  Result r = Evaluate(MeanTarget(), s, Y(2016), d.data);
  EXPECT_EQ(r.population, 0);
  EXPECT_DOUBLE_EQ(r.coverage_ratio, 0);
  EXPECT_DOUBLE_EQ(r.baseline_coverage_ratio, 0);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.status_reason, "no enterprise in the population");
}

// 10 enterprises; `base` report in 2015 and `current` in 2016, all the same values.
Result Coverage(int base, int current, std::optional<double> floor) {
  Data d;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::pair<int, double>> s;
    if (i < base) s.push_back({2015, 100});
    if (i < current) s.push_back({2016, 80});
    d.AddSeries(kNum, s);
  }
  Target t = MeanTarget();
  t.panel_mode = PanelMode::kAllReporters;
  t.coverage_floor = floor;
  return Evaluate(t, Scope{}, Y(2016), d.data);
}

TEST(Status, CoverageExactlyAtTheFloorPasses) {
  Result r = Coverage(3, 3, std::nullopt);
  EXPECT_DOUBLE_EQ(r.coverage_floor, 0.3);
  EXPECT_DOUBLE_EQ(r.coverage_ratio, 0.3);
  EXPECT_EQ(r.status, Status::kAchieved);
  r = Coverage(7, 7, 0.7);
  EXPECT_EQ(r.status, Status::kAchieved);
}

TEST(Status, CoverageUnderTheFloorInTheBaseline) {
  Result r = Coverage(2, 9, std::nullopt);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.status_reason, "coverage in 2015 is 0.20, under the floor 0.30");
  // Values are still reported.
  EXPECT_THAT(r.baseline_value, Optional(100.0));
  EXPECT_THAT(r.current_value, Optional(80.0));
}

TEST(Status, CoverageUnderTheFloorInThePeriod) {
  Result r = Coverage(9, 4, 0.5);
  EXPECT_DOUBLE_EQ(r.coverage_floor, 0.5);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.status_reason, "coverage in 2016 is 0.40, under the floor 0.50");
}

TEST(Status, ArchivedAndOutOfPopulationEnterprisesDoNotCount) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2016, 80}});
  d.AddSeries(kNum, {{2015, 1000}, {2016, 1000}}, Ent().Archived());
  d.AddSeries(kNum, {{2015, 1000}, {2016, 1000}}, Ent().Kind(2));
  d.Add(Ent().Kind(2));
  Target t = MeanTarget();
  t.population.kind = 1;
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_EQ(r.population, 1);
  EXPECT_THAT(r.baseline_value, Optional(100.0));
  EXPECT_THAT(r.current_value, Optional(80.0));
}

// Target equal to base: a zero baseline with a relative or multiple rule.
TEST(Status, TargetEqualsBaseAndMet) {
  Data d;
  for (int i = 0; i < 3; ++i) d.AddSeries(kBool, {{2015, 0}, {2016, i == 0 ? 1.0 : 0.0}});
  Target t = BoolTarget(Aggregation::kCountTrue, Multiple(2));
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.baseline_value, Optional(0.0));
  EXPECT_THAT(r.target_value, Optional(0.0));
  EXPECT_THAT(r.progress, Optional(1.0));
  EXPECT_EQ(r.status, Status::kAchieved);
}

TEST(Status, TargetEqualsBaseNotMetForecastDoesNotMeet) {
  Data d;
  d.AddSeries(kNum, {{2015, 0}, {2016, 5}});
  Result r = Evaluate(MeanTarget(), Scope{}, Y(2016), d.data);  // <= 0.88 x 0
  EXPECT_THAT(r.baseline_value, Optional(0.0));
  EXPECT_THAT(r.target_value, Optional(0.0));
  EXPECT_EQ(r.progress, std::nullopt);
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(15, kEps)));
  EXPECT_EQ(r.status, Status::kOffTrack);
  EXPECT_EQ(r.status_reason,
            "target equals the baseline 0; forecast 15 at 2018 does not meet <= 0");
}

TEST(Status, TargetEqualsBaseNotMetOffTrackWhenTheForecastFails) {
  // >= 1 x base with base 0: points (2015, 0), (2016, -9), (2017, -10), (2018, -1) at 2018,
  // deadline 2020. Mean x 2016.5, mean y -5; sxy = (-1.5)(5) + (-0.5)(-4) + (0.5)(-5) +
  // (1.5)(4) = -2; sxx = 5; slope -0.4: forecast at 2020 = -5 - 0.4 * 3.5 = -6.4.
  Data d;
  d.AddSeries(kNum, {{2015, 0}, {2016, -9}, {2017, -10}, {2018, -1}});
  Target t = MeanTarget(Multiple(1));
  t.deadline = Y(2020);
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_EQ(r.progress, std::nullopt);
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(-6.4, kEps)));
  EXPECT_EQ(r.status, Status::kOffTrack);
}

TEST(Status, TargetEqualsBaseNotMetOnTrackWhenTheForecastMeets) {
  // The matched panel's baseline is 0 while the baseline point, over every baseline
  // reporter, is -10: the trend rises toward the target although the current value -1
  // is still below it.
  Data d;
  d.AddSeries(kNum, {{2015, 0}, {2016, -3}, {2017, -2}, {2018, -1}});  // the panel
  d.AddSeries(kNum, {{2015, -20}});    // reported only in the baseline
  Target t = MeanTarget(Multiple(1));  // >= base
  t.deadline = Y(2020);
  t.coverage_floor = 0;
  Result r = Evaluate(t, Scope{}, Y(2018), d.data);
  EXPECT_THAT(r.baseline_value, Optional(0.0));
  EXPECT_THAT(r.target_value, Optional(0.0));
  EXPECT_THAT(r.current_value, Optional(-1.0));
  EXPECT_EQ(r.progress, std::nullopt);  // f and progress are undefined
  // Points (2015, -10), (2016, -3), (2017, -2), (2018, -1): mean y -4; sxy = (-1.5)(-6) +
  // (-0.5)(1) + (0.5)(2) + (1.5)(3) = 14; sxx = 5; slope 2.8: at 2020, -4 + 2.8 * 3.5 = 5.8.
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(5.8, kEps)));
  EXPECT_EQ(r.status, Status::kOnTrack);
  EXPECT_EQ(r.status_reason, "target equals the baseline 0; forecast 5.8 at 2020 meets >= 0");
}

TEST(Status, BaselineAlreadyBeyondAnAbsoluteTarget) {
  // >= 80: the baseline 90 met it, the current value 70 does not. f would count moving
  // down toward 80 as progress; the forecast must meet the rule instead.
  Data d;
  d.AddSeries(kNum, {{2015, 90}, {2016, 70}});
  Target t = MeanTarget(Absolute(Comparison::kGe, 80));
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(30, kEps)));
  EXPECT_THAT(r.progress, Optional(DoubleNear(2, kEps)));  // (70 - 90) / (80 - 90)
  EXPECT_EQ(r.status, Status::kOffTrack);
  EXPECT_EQ(r.status_reason,
            "the baseline 90 met the rule; forecast 30 at 2018 does not meet >= 80");
}

TEST(Status, EnergyUtilization62Times105Is651) {
  Data d;
  d.AddSeries(kNum, {{2015, 60}, {2016, 63.1}});
  d.AddSeries(kNum, {{2015, 64}, {2016, 67.1}});
  Target t = MeanTarget(Relative(0.05));
  Result r = Evaluate(t, Scope{}, Y(2016), d.data);
  EXPECT_THAT(r.baseline_value, Optional(62.0));
  EXPECT_THAT(r.current_value, Optional(DoubleNear(65.1, 1e-12)));
  EXPECT_EQ(r.status, Status::kAchieved);
  EXPECT_EQ(r.status_reason, "current 65.1 meets >= 65.1");
}

TEST(Status, QuarterlyPeriodsUseOrdinals) {
  Data d;
  int32_t i = d.Add();
  d.data.SetValue(kNum, Period::Quarter(2015, 1), i, 100, 3);
  d.data.SetValue(kNum, Period::Quarter(2015, 2), i, 97, 4);
  d.data.SetValue(kNum, Period::Quarter(2015, 3), i, 94, 5);
  Target t = MeanTarget();
  t.baseline = Period::Quarter(2015, 1);
  t.deadline = Period::Quarter(2016, 1);
  Result r = Evaluate(t, Scope{}, Period::Quarter(2015, 3), d.data);
  EXPECT_DOUBLE_EQ(r.expected_progress, 0.5);
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(88, kEps)));  // -3 a quarter
  EXPECT_EQ(r.status, Status::kOnTrack);
  EXPECT_THAT(PointPeriods(r), ElementsAre("2015-Q1", "2015-Q2", "2015-Q3"));
  EXPECT_EQ(r.status_reason, "forecast at 2016-Q1 covers 100 % of the gap: 88 meets <= 88");
}

TEST(Evaluate, VersionsAndIdentity) {
  Data d;
  int32_t i = d.Add();
  d.data.SetValue(kNum, Y(2015), i, 100, 5);
  d.data.SetValue(kNum, Y(2017), i, 90, 7);
  d.data.set_registry_version(42);
  Scope s;
  s.region_prefix = "44";
  Result r = Evaluate(MeanTarget(), s, Y(2017), d.data);
  EXPECT_EQ(r.target_id, "dev-cycle");
  EXPECT_EQ(r.scope.region_prefix, "44");
  EXPECT_EQ(r.period, Y(2017));
  EXPECT_EQ(r.registry_version, 42);
  EXPECT_EQ(r.target_etag, "etag-1");
  ASSERT_EQ(r.ingest_versions.size(), 3u);
  EXPECT_EQ(r.ingest_versions[0].indicator, kNum);
  EXPECT_EQ(r.ingest_versions[0].period, Y(2015));
  EXPECT_EQ(r.ingest_versions[0].version, 5);
  EXPECT_EQ(r.ingest_versions[1].period, Y(2016));
  EXPECT_EQ(r.ingest_versions[1].version, 0);
  EXPECT_EQ(r.ingest_versions[2].period, Y(2017));
  EXPECT_EQ(r.ingest_versions[2].version, 7);
}

TEST(Evaluate, APeriodOfAnotherGranularityEndsAtOnce) {
  // Callers validate first; an unvalidated period must still not loop or crash.
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2016, 90}});
  Result r = Evaluate(MeanTarget(), Scope{}, Period::Quarter(2016, 1), d.data);
  EXPECT_EQ(r.status, Status::kInsufficientData);
  EXPECT_EQ(r.ingest_versions.size(), 1u);
}

TEST(Evaluate, PeriodAfterTheDeadline) {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2019, 95}});
  Result r = Evaluate(MeanTarget(), Scope{}, Y(2019), d.data);
  EXPECT_DOUBLE_EQ(r.expected_progress, 4.0 / 3);
  // Two points (2015, 100), (2019, 95): slope -1.25, at 2018: 96.25.
  EXPECT_THAT(r.forecast_value, Optional(DoubleNear(96.25, kEps)));
  EXPECT_EQ(r.status, Status::kOffTrack);
}

// ---------------------------------------------------------------------------------------
// Breakdown.

// Six enterprises over five provinces; mean <= 0.88 x base, matched, evaluated in 2016.
Data BreakdownData() {
  Data d;
  d.AddSeries(kNum, {{2015, 100}, {2016, 94}},
              Ent().Region("440103").Industry("C2614").Ownership(3).Size(1));
  d.AddSeries(kNum, {{2015, 200}, {2016, 188}},
              Ent().Region("440305").Industry("C3911").Ownership(1).Size(2));
  d.AddSeries(kNum, {{2015, 100}, {2016, 88}},
              Ent().Region("110105").Industry("C2614").Ownership(3).Size(3));
  d.AddSeries(kNum, {{2015, 100}, {2016, 97}},
              Ent().Region("320102").Industry("I6420").Ownership(6).Size(1));
  d.AddSeries(kNum, {{2016, 50}}, Ent().Region("310101").Industry("C2710").Ownership(3).Size(4));
  d.AddSeries(kNum, {{2015, 100}, {2016, 97}},
              Ent().Region("120101").Industry("C2614").Ownership(1).Size(2));
  d.Add(Ent().Region("440103").Archived());
  return d;
}

Target BreakdownTarget() {
  Target t = MeanTarget();
  t.coverage_floor = 0;
  return t;
}

std::vector<std::string> Keys(const BreakdownResult& b) {
  std::vector<std::string> out;
  for (const auto& g : b.groups) out.push_back(g.key);
  return out;
}
std::vector<std::string> Labels(const BreakdownResult& b) {
  std::vector<std::string> out;
  for (const auto& g : b.groups) out.push_back(g.label);
  return out;
}

TEST(Breakdown, ProvinceLeagueTable) {
  Data d = BreakdownData();
  BreakdownResult b = Breakdown(BreakdownTarget(), Scope{}, Y(2016), Dimension::kProvince, d.data);
  // Progress: Beijing 1, Guangdong (150 -> 141 of 132) 0.5, Tianjin and Jiangsu 0.25
  // (tie by key), Shanghai none (no baseline).
  EXPECT_THAT(Keys(b), ElementsAre("110000", "440000", "120000", "320000", "310000"));
  EXPECT_THAT(Labels(b), ElementsAre("Beijing", "Guangdong", "Tianjin", "Jiangsu", "Shanghai"));
  EXPECT_THAT(b.groups[0].result.progress, Optional(DoubleNear(1, kEps)));
  EXPECT_THAT(b.groups[1].result.progress, Optional(DoubleNear(0.5, kEps)));
  EXPECT_THAT(b.groups[2].result.progress, Optional(DoubleNear(0.25, kEps)));
  EXPECT_EQ(b.groups[4].result.progress, std::nullopt);
  EXPECT_EQ(b.groups[1].result.population, 2);
  EXPECT_EQ(b.groups[1].result.scope.region_prefix, "44");
  EXPECT_EQ(b.groups[0].result.status, Status::kAchieved);
  EXPECT_EQ(b.total.population, 6);
  EXPECT_EQ(b.total.baseline_reporters, 5);
  EXPECT_EQ(b.total.current_reporters, 6);
  EXPECT_EQ(b.total.panel_size, 5);
}

TEST(Breakdown, PrefectureKeysAndLabels) {
  Data d = BreakdownData();
  Scope s;
  s.region_prefix = "44";
  BreakdownResult b = Breakdown(BreakdownTarget(), s, Y(2016), Dimension::kPrefecture, d.data);
  // Guangzhou 100 -> 94: 0.5; Shenzhen 200 -> 188: 0.5; a tie ordered by key.
  EXPECT_THAT(Keys(b), ElementsAre("440100", "440300"));
  EXPECT_THAT(Labels(b), ElementsAre("Guangdong 440100", "Guangdong 440300"));
  EXPECT_EQ(b.groups[0].result.scope.region_prefix, "4401");
  EXPECT_EQ(b.total.population, 2);
}

TEST(Breakdown, IndustryDivisionsIncludingOtherSections) {
  Data d = BreakdownData();
  BreakdownResult b =
      Breakdown(BreakdownTarget(), Scope{}, Y(2016), Dimension::kIndustryDivision, d.data);
  // C26: 300 -> 279 of 264: 21/36; C39: 0.5; I64: 0.25; C27: none.
  EXPECT_THAT(Keys(b), ElementsAre("C26", "C39", "I64", "C27"));
  EXPECT_THAT(Labels(b), ElementsAre("Chemical raw materials and chemical products",
                                     "Computers, communication and other electronic equipment",
                                     "Internet and related services", "Pharmaceuticals"));
  EXPECT_THAT(b.groups[0].result.progress, Optional(DoubleNear(21.0 / 36, kEps)));
  EXPECT_EQ(b.groups[0].result.population, 3);
  EXPECT_EQ(b.groups[0].result.scope.industry_prefix, "C26");
}

TEST(Breakdown, OwnershipAndSizeKeysAndLabels) {
  Data d = BreakdownData();
  BreakdownResult b = Breakdown(BreakdownTarget(), Scope{}, Y(2016), Dimension::kOwnership, d.data);
  // Private {100->94, 100->88, -, 50}: panel 200 -> 182 of 176: 0.75. State-owned {200 ->
  // 188, 100 -> 97}: 300 -> 285 of 264: 15/36. Foreign-invested 0.25.
  EXPECT_THAT(Keys(b), ElementsAre("OWNERSHIP_PRIVATE", "OWNERSHIP_STATE_OWNED",
                                   "OWNERSHIP_FOREIGN_INVESTED"));
  EXPECT_THAT(Labels(b), ElementsAre("private", "state-owned", "foreign-invested"));
  EXPECT_THAT(b.groups[0].result.progress, Optional(DoubleNear(0.75, kEps)));
  EXPECT_EQ(b.groups[0].result.scope.ownership, 3);
  EXPECT_EQ(b.groups[0].result.population, 3);
  EXPECT_EQ(b.groups[0].result.panel_size, 2);

  b = Breakdown(BreakdownTarget(), Scope{}, Y(2016), Dimension::kSize, d.data);
  // Small 1; medium {200->188, 100->97} 15/36; large {100->94, 100->97} 9/24; micro none.
  EXPECT_THAT(Keys(b), ElementsAre("ENTERPRISE_SIZE_SMALL", "ENTERPRISE_SIZE_MEDIUM",
                                   "ENTERPRISE_SIZE_LARGE", "ENTERPRISE_SIZE_MICRO"));
  EXPECT_THAT(Labels(b), ElementsAre("small", "medium", "large", "micro"));
  EXPECT_EQ(b.groups[2].result.scope.size, 1);
}

TEST(Breakdown, GroupsOfAnEmptyScopeAreLeftOut) {
  Data d = BreakdownData();
  Scope s;
  s.region_prefix = "53";
  BreakdownResult b = Breakdown(BreakdownTarget(), s, Y(2016), Dimension::kProvince, d.data);
  EXPECT_TRUE(b.groups.empty());
  EXPECT_EQ(b.total.population, 0);
  EXPECT_EQ(b.total.status, Status::kInsufficientData);
}

TEST(Breakdown, MedianPerGroup) {
  Data d;
  d.AddSeries(kNum, {{2015, 1}, {2016, 1}}, Ent().Region("440103"));
  d.AddSeries(kNum, {{2015, 3}, {2016, 5}}, Ent().Region("440103"));
  d.AddSeries(kNum, {{2015, 9}, {2016, 9}}, Ent().Region("110105"));
  Target t = BreakdownTarget();
  t.aggregation = Aggregation::kMedian;
  BreakdownResult b = Breakdown(t, Scope{}, Y(2016), Dimension::kProvince, d.data);
  ASSERT_EQ(b.groups.size(), 2u);
  EXPECT_EQ(b.groups[0].key, "110000");  // progress 0 beats Guangdong's negative one
  EXPECT_THAT(b.groups[1].result.baseline_value, Optional(2.0));
  EXPECT_THAT(b.groups[1].result.current_value, Optional(3.0));
  EXPECT_THAT(b.total.baseline_value, Optional(3.0));
  EXPECT_THAT(b.total.current_value, Optional(5.0));
}

// ---------------------------------------------------------------------------------------
// CheckEnterprise.

TEST(CheckEnterprise, MetWithExplanation) {
  CheckResult c = CheckEnterprise(kNum, Y(2015), Y(2018), 100.0, 86.0, Relative(-0.12));
  EXPECT_THAT(c.measured_change, Optional(DoubleNear(-0.14, kEps)));
  EXPECT_THAT(c.required, Optional(DoubleNear(88, kEps)));
  EXPECT_TRUE(c.meets);
  EXPECT_EQ(c.explanation,
            "product_dev_cycle_days 2015 = 100, 2018 = 86: -14 %, required <= 88 (-12 %): met");
}

TEST(CheckEnterprise, NotMet) {
  CheckResult c = CheckEnterprise(kNum, Y(2015), Y(2018), 100.0, 95.0, Relative(-0.12));
  EXPECT_FALSE(c.meets);
  EXPECT_EQ(c.explanation,
            "product_dev_cycle_days 2015 = 100, 2018 = 95: -5 %, required <= 88 (-12 %): not met");
}

TEST(CheckEnterprise, MultipleAndAbsolute) {
  CheckResult c = CheckEnterprise("inventory_turnover", Y(2015), Y(2018), 4.0, 5.5, Multiple(1.25));
  EXPECT_TRUE(c.meets);
  EXPECT_EQ(c.explanation,
            "inventory_turnover 2015 = 4, 2018 = 5.5: +37.5 %, required >= 5 (1.25 x 2015): met");
  c = CheckEnterprise(kBool, Y(2015), Y(2018), 0.0, 1.0, Absolute(Comparison::kGe, 1));
  EXPECT_TRUE(c.meets);
  EXPECT_EQ(c.measured_change, std::nullopt);
  EXPECT_EQ(c.explanation,
            "innovation_platform 2015 = 0, 2018 = 1: change undefined from a baseline of 0, "
            "required >= 1: met");
}

TEST(CheckEnterprise, MissingValues) {
  CheckResult c = CheckEnterprise(kNum, Y(2015), Y(2018), 100.0, std::nullopt, Relative(-0.12));
  EXPECT_FALSE(c.meets);
  EXPECT_EQ(c.measured_change, std::nullopt);
  EXPECT_THAT(c.required, Optional(DoubleNear(88, kEps)));
  EXPECT_EQ(c.explanation,
            "product_dev_cycle_days 2015 = 100, 2018 = missing: not met, no value for 2018");
  c = CheckEnterprise(kNum, Y(2015), Y(2018), std::nullopt, 86.0, Relative(-0.12));
  EXPECT_FALSE(c.meets);
  EXPECT_EQ(c.required, std::nullopt);
  EXPECT_EQ(c.explanation,
            "product_dev_cycle_days 2015 = missing, 2018 = 86: not met, no value for 2015");
  c = CheckEnterprise(kNum, Y(2015), Y(2018), std::nullopt, std::nullopt, Relative(-0.12));
  EXPECT_FALSE(c.meets);
  EXPECT_THAT(c.explanation, HasSubstr("no values for 2015 and 2018"));
}

TEST(CheckEnterprise, ZeroBaseline) {
  CheckResult c = CheckEnterprise(kNum, Y(2015), Y(2018), 0.0, 0.0, Relative(-0.12));
  EXPECT_EQ(c.measured_change, std::nullopt);
  EXPECT_THAT(c.required, Optional(0.0));
  EXPECT_TRUE(c.meets);
  c = CheckEnterprise(kNum, Y(2015), Y(2018), 0.0, 3.0, Relative(-0.12));
  EXPECT_FALSE(c.meets);
}

// ---------------------------------------------------------------------------------------
// Validation.

Target ValidTarget() {
  Target t = MeanTarget();
  t.population.kind = 1;
  return t;
}
IndicatorInfo NumberIndicator() { return IndicatorInfo{kNum, false, refdata::Granularity::kYear}; }

TEST(ValidateTarget, AcceptsTheSeededTargets) {
  EXPECT_THAT(ValidateTarget(ValidTarget(), NumberIndicator()), IsOk());
  Target b = BoolTarget(Aggregation::kCountTrue, Multiple(2));
  EXPECT_THAT(ValidateTarget(b, IndicatorInfo{kBool, true, refdata::Granularity::kYear}), IsOk());
  Target f = ValidTarget();
  f.coverage_floor = 0;
  EXPECT_THAT(ValidateTarget(f, NumberIndicator()), IsOk());
  f.coverage_floor = 1;
  EXPECT_THAT(ValidateTarget(f, NumberIndicator()), IsOk());
}

TEST(ValidateTarget, Id) {
  for (const std::string& id :
       std::vector<std::string>{"", "Dev-cycle", "dev_cycle", "-dev", "dev-", "dev--cycle",
                                "dev cycle", std::string(65, 'a')}) {
    Target t = ValidTarget();
    t.id = id;
    absl::Status s = ValidateTarget(t, NumberIndicator());
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << id;
    EXPECT_THAT(Fields(s), ElementsAre("target.id")) << id;
  }
  Target t = ValidTarget();
  t.id = std::string(64, 'a');
  EXPECT_THAT(ValidateTarget(t, NumberIndicator()), IsOk());
  t.id = "a1-b2-c3";
  EXPECT_THAT(ValidateTarget(t, NumberIndicator()), IsOk());
}

TEST(ValidateTarget, TitleDescriptionIndicator) {
  Target t = ValidTarget();
  t.title = " ";
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.title"));
  t.title = std::string(201, 'x');
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.title"));
  t = ValidTarget();
  t.description = std::string(2001, 'x');
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.description"));
  t = ValidTarget();
  t.indicator = "";
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.indicator"));
}

TEST(ValidateTarget, Rules) {
  struct Case {
    Rule rule;
    const char* field;
  };
  for (const Case& c : {
           Case{Rule{}, "target.rule"},
           Case{Relative(0), "target.rule.relative_change.change"},
           Case{Relative(-1), "target.rule.relative_change.change"},
           Case{Relative(NAN), "target.rule.relative_change.change"},
           Case{Multiple(0), "target.rule.multiple.multiple"},
           Case{Multiple(-2), "target.rule.multiple.multiple"},
           Case{Multiple(INFINITY), "target.rule.multiple.multiple"},
           Case{Absolute(Comparison::kUnspecified, 1), "target.rule.absolute.comparison"},
           Case{Absolute(Comparison::kGe, NAN), "target.rule.absolute.value"},
       }) {
    Target t = ValidTarget();
    t.rule = c.rule;
    absl::Status s = ValidateTarget(t, NumberIndicator());
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_THAT(Fields(s), ElementsAre(c.field));
  }
  EXPECT_THAT(Fields(ValidateRule(Multiple(0), "milestones[2].rule")),
              ElementsAre("milestones[2].rule.multiple.multiple"));
  EXPECT_THAT(ValidateRule(Relative(-0.99)), IsOk());
  EXPECT_THAT(ValidateRule(Absolute(Comparison::kLe, -5)), IsOk());
}

TEST(ValidateTarget, AggregationSuitsTheIndicator) {
  Target t = ValidTarget();
  t.aggregation = Aggregation::kShareTrue;
  absl::Status s = ValidateTarget(t, NumberIndicator());
  EXPECT_THAT(Fields(s), ElementsAre("target.aggregation"));
  EXPECT_THAT(s.message(), HasSubstr("boolean"));
  t.aggregation = Aggregation::kUnspecified;
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.aggregation"));
  t.aggregation = Aggregation::kMedian;
  EXPECT_THAT(Fields(ValidateTarget(t, IndicatorInfo{kNum, true, refdata::Granularity::kYear})),
              ElementsAre("target.aggregation"));
}

TEST(ValidateTarget, Periods) {
  Target t = ValidTarget();
  t.deadline = Y(2015);
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.deadline_period"));
  t.deadline = Y(2014);
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.deadline_period"));
  t = ValidTarget();
  t.baseline = Period::Quarter(2015, 1);
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.baseline_period"));
  t = ValidTarget();
  t.deadline = Period::Quarter(2018, 5);
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.deadline_period"));
  t = ValidTarget();
  t.baseline = Period::Quarter(2015, 1);
  t.deadline = Period::Quarter(2018, 4);
  EXPECT_THAT(ValidateTarget(t, IndicatorInfo{kNum, false, refdata::Granularity::kQuarter}),
              IsOk());
}

TEST(ValidateTarget, FloorPopulationPanelAndSeveralAtOnce) {
  Target t = ValidTarget();
  t.coverage_floor = 1.5;
  t.population.kind = 9;
  t.population.ownership = -1;
  t.population.size = 5;
  t.panel_mode = static_cast<PanelMode>(3);
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())),
              ElementsAre("target.population.kind", "target.population.ownership",
                          "target.population.size", "target.panel_mode", "target.coverage_floor"));
  t = ValidTarget();
  t.coverage_floor = -0.1;
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator(), "request.target")),
              ElementsAre("request.target.coverage_floor"));
  t.coverage_floor = NAN;
  EXPECT_THAT(Fields(ValidateTarget(t, NumberIndicator())), ElementsAre("target.coverage_floor"));
}

TEST(ValidateTarget, RetiredIndicatorIsFailedPrecondition) {
  IndicatorInfo info = NumberIndicator();
  info.retired = true;
  EXPECT_THAT(ValidateTarget(ValidTarget(), info),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("retired")));
}

TEST(ValidateScope, Fields) {
  Scope s;
  EXPECT_THAT(ValidateScope(s), IsOk());
  s.region_prefix = "4401";
  s.industry_prefix = "C26";
  s.ownership = 7;
  s.size = 4;
  s.kind = 7;
  EXPECT_THAT(ValidateScope(s), IsOk());
  struct Case {
    Scope scope;
    const char* field;
  };
  for (const Case& c :
       {Case{S("99"), "scope.region_prefix"}, Case{S("44a"), "scope.region_prefix"},
        Case{S("4401031"), "scope.region_prefix"}, Case{S("", "Z"), "scope.industry_prefix"},
        Case{S("", "C99"), "scope.industry_prefix"}, Case{S("", "", 8), "scope.ownership"},
        Case{S("", "", 0, 5), "scope.size"}, Case{S("", "", 0, 0, false, 8), "scope.kind"}}) {
    absl::Status st = ValidateScope(c.scope);
    EXPECT_THAT(st, StatusIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_THAT(Fields(st), ElementsAre(c.field));
  }
  EXPECT_THAT(Fields(ValidateScope(S("99"), "request.scope")),
              ElementsAre("request.scope.region_prefix"));
}

TEST(ValidateEvaluationPeriod, GranularityAndBaseline) {
  Target t = ValidTarget();
  EXPECT_THAT(ValidateEvaluationPeriod(t, Y(2015)), IsOk());
  EXPECT_THAT(ValidateEvaluationPeriod(t, Y(2020)), IsOk());  // after the deadline is fine
  EXPECT_THAT(Fields(ValidateEvaluationPeriod(t, Y(2014))), ElementsAre("period"));
  EXPECT_THAT(Fields(ValidateEvaluationPeriod(t, Period::Quarter(2016, 1))), ElementsAre("period"));
  EXPECT_THAT(Fields(ValidateEvaluationPeriod(t, Period{2016, refdata::Granularity::kYear, 3})),
              ElementsAre("period"));
  EXPECT_THAT(Fields(ValidateEvaluationPeriod(t, Y(2014), "request.period")),
              ElementsAre("request.period"));
}

// ---------------------------------------------------------------------------------------
// Properties over seeded random datasets.

const std::vector<std::string> kRegions = {"440103", "440105", "440305", "110105",
                                           "110108", "320102", "320205", "310101"};
const std::vector<std::string> kIndustries = {"C2614", "C2611", "C3911", "C1310",
                                              "I6420", "C2710", "C27"};

struct Random {
  explicit Random(uint32_t seed) : gen(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(gen); }
  std::mt19937 gen;
};

// Enterprises with random attributes; both indicators reported in 2015-2018 with
// random gaps.
Dataset RandomDataset(uint32_t seed, int n) {
  Random rnd(seed);
  Dataset d;
  for (int i = 0; i < n; ++i) {
    EnterpriseAttrs a;
    a.region = kRegions[rnd.Int(0, kRegions.size() - 1)];
    a.industry = kIndustries[rnd.Int(0, kIndustries.size() - 1)];
    a.kind = static_cast<uint8_t>(rnd.Int(1, 3));
    a.ownership = static_cast<uint8_t>(rnd.Int(1, 7));
    a.size = static_cast<uint8_t>(rnd.Int(1, 4));
    a.key = rnd.Chance(0.4);
    a.archived = rnd.Chance(0.05);
    d.Upsert(absl::StrCat("R", i), a);
  }
  for (int year = 2015; year <= 2018; ++year) {
    for (int i = 0; i < n; ++i) {
      if (rnd.Chance(0.75)) d.SetValue(kNum, Y(year), i, rnd.Int(10, 400) / 4.0, year - 2000);
      if (rnd.Chance(0.7)) d.SetValue(kBool, Y(year), i, rnd.Chance(0.5) ? 1 : 0, year - 1990);
    }
  }
  d.set_registry_version(seed);
  return d;
}

bool ScopeMatches(const EnterpriseAttrs& e, const Scope& s) {
  return absl::StartsWith(e.region, s.region_prefix) &&
         absl::StartsWith(e.industry, s.industry_prefix) &&
         (s.ownership == 0 || e.ownership == s.ownership) && (s.size == 0 || e.size == s.size) &&
         (!s.key_only || e.key) && (s.kind == 0 || e.kind == s.kind);
}

// The enterprises of `scope` only, with the same columns and versions.
Dataset Filtered(const Dataset& d, const Scope& scope) {
  Dataset out;
  std::vector<int32_t> map(d.size(), -1);
  for (int32_t i = 0; i < d.size(); ++i) {
    if (ScopeMatches(d.attrs(i), scope)) map[i] = out.Upsert(d.code(i), d.attrs(i));
  }
  for (const char* ind : {kNum, kBool}) {
    for (int year = 2015; year <= 2018; ++year) {
      const Column* c = d.column(ind, Y(year));
      if (c == nullptr) continue;
      std::vector<std::pair<int32_t, double>> values;
      for (size_t i = 0; i < c->present.size(); ++i) {
        if (c->present[i] && map[i] >= 0) values.push_back({map[i], c->values[i]});
      }
      out.ReplaceColumn(ind, Y(year), values, c->data_version);
    }
  }
  out.set_registry_version(d.registry_version());
  return out;
}

void ExpectSame(const Result& a, const Result& b, bool compare_scope) {
  EXPECT_EQ(a.target_id, b.target_id);
  if (compare_scope) {
    EXPECT_EQ(a.scope.region_prefix, b.scope.region_prefix);
    EXPECT_EQ(a.scope.industry_prefix, b.scope.industry_prefix);
    EXPECT_EQ(a.scope.ownership, b.scope.ownership);
    EXPECT_EQ(a.scope.size, b.scope.size);
    EXPECT_EQ(a.scope.key_only, b.scope.key_only);
    EXPECT_EQ(a.scope.kind, b.scope.kind);
  }
  EXPECT_EQ(a.period, b.period);
  EXPECT_EQ(a.baseline_value, b.baseline_value);
  EXPECT_EQ(a.current_value, b.current_value);
  EXPECT_EQ(a.target_value, b.target_value);
  EXPECT_EQ(a.progress, b.progress);
  EXPECT_EQ(a.expected_progress, b.expected_progress);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.status_reason, b.status_reason);
  EXPECT_EQ(a.forecast_value, b.forecast_value);
  ASSERT_EQ(a.points.size(), b.points.size());
  for (size_t i = 0; i < a.points.size(); ++i) {
    EXPECT_EQ(a.points[i].period, b.points[i].period);
    EXPECT_EQ(a.points[i].value, b.points[i].value);
    EXPECT_EQ(a.points[i].reporters, b.points[i].reporters);
  }
  EXPECT_EQ(a.population, b.population);
  EXPECT_EQ(a.baseline_reporters, b.baseline_reporters);
  EXPECT_EQ(a.current_reporters, b.current_reporters);
  EXPECT_EQ(a.coverage_ratio, b.coverage_ratio);
  EXPECT_EQ(a.baseline_coverage_ratio, b.baseline_coverage_ratio);
  EXPECT_EQ(a.coverage_floor, b.coverage_floor);
  EXPECT_EQ(a.panel_size, b.panel_size);
  EXPECT_EQ(a.panel_mode, b.panel_mode);
  EXPECT_EQ(a.registry_version, b.registry_version);
  ASSERT_EQ(a.ingest_versions.size(), b.ingest_versions.size());
  for (size_t i = 0; i < a.ingest_versions.size(); ++i) {
    EXPECT_EQ(a.ingest_versions[i].indicator, b.ingest_versions[i].indicator);
    EXPECT_EQ(a.ingest_versions[i].period, b.ingest_versions[i].period);
    EXPECT_EQ(a.ingest_versions[i].version, b.ingest_versions[i].version);
  }
  EXPECT_EQ(a.target_etag, b.target_etag);
}

std::vector<Target> PropertyTargets() {
  std::vector<Target> out;
  Target mean = MeanTarget();
  out.push_back(mean);
  Target median = mean;
  median.id = "median";
  median.aggregation = Aggregation::kMedian;
  median.rule = Relative(0.1);
  out.push_back(median);
  Target all = mean;
  all.id = "mean-all";
  all.panel_mode = PanelMode::kAllReporters;
  all.population.key_only = true;
  out.push_back(all);
  Target share = BoolTarget(Aggregation::kShareTrue, Absolute(Comparison::kGe, 0.8));
  share.population.kind = 1;
  out.push_back(share);
  Target count = BoolTarget(Aggregation::kCountTrue, Multiple(2));
  count.id = "count";
  count.panel_mode = PanelMode::kMatched;
  count.coverage_floor = 0.5;
  out.push_back(count);
  return out;
}

std::vector<Scope> PropertyScopes() {
  std::vector<Scope> out;
  out.push_back(Scope{});
  out.push_back(S("44"));
  out.push_back(S("4401", "C26"));
  out.push_back(S("", "C", 3));
  out.push_back(S("3", "", 0, 2, true));
  out.push_back(S("", "I", 0, 0, false, 1));
  out.push_back(S("110105"));
  return out;
}

class Properties : public ::testing::TestWithParam<uint32_t> {};

TEST_P(Properties, ScopeEqualsAPrefilteredDataset) {
  Dataset d = RandomDataset(GetParam(), 400);
  for (const Target& t : PropertyTargets()) {
    for (const Scope& s : PropertyScopes()) {
      Dataset f = Filtered(d, s);
      for (int year : {2015, 2016, 2018}) {
        SCOPED_TRACE(absl::StrCat(t.id, " ", s.region_prefix, "/", s.industry_prefix, " ", year));
        Result scoped = Evaluate(t, s, Y(year), d);
        Result prefiltered = Evaluate(t, Scope{}, Y(year), f);
        ExpectSame(scoped, prefiltered, /*compare_scope=*/false);
      }
    }
  }
}

TEST_P(Properties, BreakdownGroupsAddUpToTheTotal) {
  Dataset d = RandomDataset(GetParam(), 400);
  for (const Target& t : PropertyTargets()) {
    for (const Scope& s : PropertyScopes()) {
      for (Dimension dim :
           {Dimension::kProvince, Dimension::kPrefecture, Dimension::kIndustryDivision,
            Dimension::kOwnership, Dimension::kSize}) {
        SCOPED_TRACE(absl::StrCat(t.id, " ", s.region_prefix, "/", s.industry_prefix, " dim ",
                                  static_cast<int>(dim)));
        BreakdownResult b = Breakdown(t, s, Y(2017), dim, d);
        ExpectSame(b.total, Evaluate(t, s, Y(2017), d), /*compare_scope=*/true);
        int64_t pop = 0, base = 0, cur = 0, panel = 0;
        std::vector<int64_t> point_reporters(3, 0);
        for (const BreakdownGroup& g : b.groups) {
          EXPECT_GT(g.result.population, 0);
          pop += g.result.population;
          base += g.result.baseline_reporters;
          cur += g.result.current_reporters;
          panel += g.result.panel_size;
          for (const TrendPoint& p : g.result.points)
            point_reporters[p.period.year - 2015] += p.reporters;
          // A group is the evaluation with the scope narrowed to it.
          ExpectSame(g.result, Evaluate(t, g.result.scope, Y(2017), d), /*compare_scope=*/true);
        }
        EXPECT_EQ(pop, b.total.population);
        EXPECT_EQ(base, b.total.baseline_reporters);
        EXPECT_EQ(cur, b.total.current_reporters);
        EXPECT_EQ(panel, b.total.panel_size);
        for (const TrendPoint& p : b.total.points) {
          EXPECT_EQ(point_reporters[p.period.year - 2015], p.reporters) << p.period.ToString();
        }
        // League-table order.
        for (size_t i = 1; i < b.groups.size(); ++i) {
          const Result& x = b.groups[i - 1].result;
          const Result& y = b.groups[i].result;
          if (x.progress && y.progress) {
            EXPECT_TRUE(*x.progress > *y.progress ||
                        (*x.progress == *y.progress && b.groups[i - 1].key < b.groups[i].key));
          } else if (!x.progress && !y.progress) {
            EXPECT_LT(b.groups[i - 1].key, b.groups[i].key);
          } else {
            EXPECT_TRUE(x.progress.has_value());
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Properties, ::testing::Values(1u, 7u, 42u, 2015u, 99991u));

}  // namespace
}  // namespace iplus::evaluation
