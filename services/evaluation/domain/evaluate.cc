#include "services/evaluation/domain/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/refdata/industry.h"
#include "common/refdata/region.h"
#include "common/status/status.h"

namespace iplus::evaluation {
namespace {

constexpr double kTolerance = 1e-12;

// Enum bounds of iplus.common.v1 and iplus.evaluation.v1.
constexpr int kMaxOrganizationKind = 7;
constexpr int kMaxOwnership = 7;
constexpr int kMaxEnterpriseSize = 4;
constexpr size_t kMaxTargetId = 64;
constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxDescription = 2000;

double Scale(double a, double b) { return std::max(std::abs(a), std::abs(b)); }
bool ApproxGe(double a, double b) { return a >= b - kTolerance * Scale(a, b); }
bool ApproxLe(double a, double b) { return a <= b + kTolerance * Scale(a, b); }
bool ApproxEq(double a, double b) { return std::abs(a - b) <= kTolerance * Scale(a, b); }

// The comparison a rule applies to the value it checks.
Comparison DirectionOf(const Rule& rule) {
  switch (rule.kind) {
    case Rule::Kind::kAbsolute:
      return rule.comparison;
    case Rule::Kind::kMultiple:
      return rule.value >= 1 ? Comparison::kGe : Comparison::kLe;
    case Rule::Kind::kRelativeChange:
      return rule.value < 0 ? Comparison::kLe : Comparison::kGe;
    case Rule::Kind::kUnset:
      break;
  }
  return Comparison::kUnspecified;
}

const char* Symbol(Comparison c) {
  switch (c) {
    case Comparison::kGe:
      return ">=";
    case Comparison::kLe:
      return "<=";
    case Comparison::kUnspecified:
      break;
  }
  return "?";
}

// A number for people: integers without decimals, others with four significant digits
// (two decimals from 10 000 up).
std::string Num(double x) {
  if (!std::isfinite(x)) return "n/a";
  if (x == 0) return "0";
  if (x == std::round(x) && std::abs(x) < 1e15) return absl::StrFormat("%.0f", x);
  if (std::abs(x) >= 1e4) return absl::StrFormat("%.2f", x);
  return absl::StrFormat("%.4g", x);
}

// A signed percentage with at most one decimal: -0.14 -> "-14 %", 0.125 -> "+12.5 %".
std::string Pct(double ratio) {
  double p = std::round(ratio * 1000) / 10;
  if (p == 0) return "0 %";
  std::string s = p == std::round(p) ? absl::StrFormat("%+.0f", p) : absl::StrFormat("%+.1f", p);
  return absl::StrCat(s, " %");
}

// An unsigned percentage of a ratio, rounded to an integer: 0.64 -> "64 %".
std::string Share(double ratio) {
  double p = std::round(ratio * 100);
  if (p == 0) p = 0;  // no "-0"
  return absl::StrFormat("%.0f %%", p);
}

bool ValidPeriod(const Period& p) {
  auto parsed = refdata::ParsePeriod(p.ToString());
  return parsed.ok() && *parsed == p;
}

bool IsKebabCase(const std::string& id) {
  if (id.empty() || id.size() > kMaxTargetId) return false;
  if (id.front() == '-' || id.back() == '-') return false;
  char prev = 0;
  for (char c : id) {
    bool ok = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
    if (!ok || (c == '-' && prev == '-')) return false;
    prev = c;
  }
  return true;
}

std::string AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kShareTrue:
      return "AGGREGATION_SHARE_TRUE";
    case Aggregation::kCountTrue:
      return "AGGREGATION_COUNT_TRUE";
    case Aggregation::kMean:
      return "AGGREGATION_MEAN";
    case Aggregation::kMedian:
      return "AGGREGATION_MEDIAN";
    case Aggregation::kUnspecified:
      break;
  }
  return "AGGREGATION_UNSPECIFIED";
}

// ---------------------------------------------------------------------------------------
// Accumulation.

// The values of one period over one set of enterprises. The sum is compensated
// (Neumaier), so a mean over a million values keeps its digits.
struct Acc {
  int64_t n = 0;
  int64_t trues = 0;
  double sum = 0;
  double comp = 0;
  std::vector<double> values;  // kept for a median only

  void Add(double v, bool keep) {
    ++n;
    trues += v != 0;
    double t = sum + v;
    if (std::abs(sum) >= std::abs(v)) {
      comp += (sum - t) + v;
    } else {
      comp += (v - t) + sum;
    }
    sum = t;
    if (keep) values.push_back(v);
  }
};

std::optional<double> Aggregate(Acc& acc, Aggregation aggregation) {
  if (acc.n == 0) return std::nullopt;
  switch (aggregation) {
    case Aggregation::kShareTrue:
      return static_cast<double>(acc.trues) / static_cast<double>(acc.n);
    case Aggregation::kCountTrue:
      return static_cast<double>(acc.trues);
    case Aggregation::kMean:
      return (acc.sum + acc.comp) / static_cast<double>(acc.n);
    case Aggregation::kMedian: {
      std::vector<double>& v = acc.values;
      if (v.empty()) return std::nullopt;
      size_t mid = v.size() / 2;
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
      double upper = v[mid];
      if (v.size() % 2 == 1) return upper;
      double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
      return lower + (upper - lower) / 2;
    }
    case Aggregation::kUnspecified:
      break;
  }
  return std::nullopt;
}

// The accumulators of one group (or of the whole scope); index k is the k-th period
// from the baseline.
struct Accs {
  int64_t population = 0;
  std::vector<int64_t> reporters;  // reported in k
  std::vector<int64_t> panel;      // reported in the baseline and in k
  std::vector<Acc> all;            // k's values over k's reporters
  std::vector<Acc> matched;        // k's values over the (B, k) panel (matched panel, k > 0)
  Acc base_panel;                  // baseline values over the (B, P) panel (matched panel)
};

// What one evaluation reads: the periods B..P and their columns.
struct Plan {
  std::vector<Period> periods;
  std::vector<const uint8_t*> present;
  std::vector<const double*> values;
  std::vector<size_t> length;
  std::vector<int64_t> versions;
  int k = 0;  // number of periods
  bool matched = false;
  bool keep = false;  // keep values (median)
  Aggregation aggregation = Aggregation::kUnspecified;

  bool Present(int p, int32_t i) const {
    return static_cast<size_t>(i) < length[p] && present[p][i] != 0;
  }

  Accs NewAccs() const {
    Accs a;
    a.reporters.assign(k, 0);
    a.panel.assign(k, 0);
    a.all.resize(k);
    if (matched) a.matched.resize(k);
    return a;
  }
};

Plan MakePlan(const Target& target, const Period& period, const Dataset& data) {
  Plan plan;
  plan.aggregation = target.aggregation;
  plan.matched = EffectivePanelMode(target) == PanelMode::kMatched;
  plan.keep = target.aggregation == Aggregation::kMedian;
  Period p = target.baseline;
  // The caller validated period >= baseline and the granularity; the bound only guards
  // against a runaway loop on bad input.
  const bool same_granularity = period.granularity == p.granularity;
  for (int guard = 0; same_granularity && p <= period && guard < 100000; ++guard, p = p.Next()) {
    plan.periods.push_back(p);
    const Column* c = data.column(target.indicator, p);
    if (c == nullptr) {
      plan.present.push_back(nullptr);
      plan.values.push_back(nullptr);
      plan.length.push_back(0);
      plan.versions.push_back(0);
    } else {
      plan.present.push_back(c->present.data());
      plan.values.push_back(c->values.data());
      plan.length.push_back(std::min(c->present.size(), c->values.size()));
      plan.versions.push_back(c->data_version);
    }
  }
  if (plan.periods.empty()) {  // an invalid period: evaluate an empty baseline
    plan.periods.push_back(target.baseline);
    plan.present.push_back(nullptr);
    plan.values.push_back(nullptr);
    plan.length.push_back(0);
    plan.versions.push_back(0);
  }
  plan.k = static_cast<int>(plan.periods.size());
  return plan;
}

// For a median, reserves the total's value vectors once (at most the columns' reporters)
// rather than letting them grow.
void ReserveValues(const Plan& plan, const Dataset& data, const std::string& indicator, Accs& a) {
  if (!plan.keep) return;
  auto reporters = [&](int p) {
    const Column* c = data.column(indicator, plan.periods[p]);
    return c == nullptr ? size_t{0} : static_cast<size_t>(c->reporters);
  };
  const size_t base = reporters(0);
  a.all[0].values.reserve(base);
  for (int p = 1; p < plan.k; ++p) {
    if (plan.matched) {
      a.matched[p].values.reserve(std::min(base, reporters(p)));
    } else {
      a.all[p].values.reserve(reporters(p));
    }
  }
  if (plan.matched) a.base_panel.values.reserve(std::min(base, reporters(plan.k - 1)));
}

// Adds enterprise i (a population member) to `a` and, when given, to `b`.
inline void AddEnterprise(const Plan& plan, int32_t i, Accs& a, Accs* b) {
  ++a.population;
  if (b != nullptr) ++b->population;
  const bool in_base = plan.Present(0, i);
  const bool keep = plan.keep;
  bool in_last = false;
  for (int p = 0; p < plan.k; ++p) {
    if (!plan.Present(p, i)) continue;
    const double v = plan.values[p][i];
    in_last = p == plan.k - 1;
    ++a.reporters[p];
    if (b != nullptr) ++b->reporters[p];
    if (!plan.matched || p == 0) {
      a.all[p].Add(v, keep);
      if (b != nullptr) b->all[p].Add(v, keep);
    }
    if (in_base) {
      ++a.panel[p];
      if (b != nullptr) ++b->panel[p];
      if (plan.matched && p > 0) {
        a.matched[p].Add(v, keep);
        if (b != nullptr) b->matched[p].Add(v, keep);
      }
    }
  }
  if (plan.matched && in_base && in_last) {
    const double vb = plan.values[0][i];
    a.base_panel.Add(vb, keep);
    if (b != nullptr) b->base_panel.Add(vb, keep);
  }
}

// Least squares over the points, evaluated at x.
double Forecast(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  const double n = static_cast<double>(xs.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) * (xs[i] - mx);
  }
  return my + sxy / sxx * (x - mx);
}

Result Finish(const Target& target, const Scope& scope, const Period& period, const Plan& plan,
              Accs& a, const Dataset& data) {
  Result r;
  r.target_id = target.id;
  r.scope = scope;
  r.period = period;
  r.panel_mode = EffectivePanelMode(target);
  r.coverage_floor = CoverageFloor(target);
  r.registry_version = data.registry_version();
  r.target_etag = target.etag;
  for (int p = 0; p < plan.k; ++p) {
    r.ingest_versions.push_back(
        DataVersionEntry{target.indicator, plan.periods[p], plan.versions[p]});
  }

  const int last = plan.k - 1;
  const Period& base_period = plan.periods[0];
  const Period& current_period = plan.periods[last];
  r.population = a.population;
  r.baseline_reporters = a.reporters[0];
  r.current_reporters = a.reporters[last];
  r.panel_size = a.panel[last];
  const double pop = static_cast<double>(a.population);
  r.coverage_ratio = a.population > 0 ? static_cast<double>(r.current_reporters) / pop : 0;
  r.baseline_coverage_ratio =
      a.population > 0 ? static_cast<double>(r.baseline_reporters) / pop : 0;

  const Aggregation agg = target.aggregation;
  // Trend points: the baseline over all its reporters; later periods over all their
  // reporters, or over the (B, y) panel with a matched panel.
  std::vector<double> xs, ys;
  for (int p = 0; p < plan.k; ++p) {
    Acc& src = (plan.matched && p > 0) ? a.matched[p] : a.all[p];
    std::optional<double> v = Aggregate(src, agg);
    if (!v.has_value()) continue;
    r.points.push_back(TrendPoint{plan.periods[p], *v, src.n});
    xs.push_back(static_cast<double>(refdata::PeriodOrdinal(plan.periods[p])));
    ys.push_back(*v);
  }
  if (plan.matched) {
    r.baseline_value = Aggregate(a.base_panel, agg);
    r.current_value = Aggregate(last == 0 ? a.all[0] : a.matched[last], agg);
  } else {
    r.baseline_value = Aggregate(a.all[0], agg);
    r.current_value = Aggregate(a.all[last], agg);
  }
  r.target_value = TargetValue(target.rule, r.baseline_value);

  const double ob = refdata::PeriodOrdinal(target.baseline);
  const double od = refdata::PeriodOrdinal(target.deadline);
  const double op = refdata::PeriodOrdinal(period);
  r.expected_progress = od != ob ? (op - ob) / (od - ob) : 0;
  if (xs.size() >= 2) r.forecast_value = Forecast(xs, ys, od);

  const Comparison dir = DirectionOf(target.rule);
  const bool have_all = r.baseline_value && r.target_value;
  const bool target_is_base = have_all && ApproxEq(*r.target_value, *r.baseline_value);
  if (have_all && r.current_value) {
    if (target_is_base) {
      if (Meets(target.rule, *r.current_value, *r.target_value)) r.progress = 1;
    } else {
      r.progress = (*r.current_value - *r.baseline_value) / (*r.target_value - *r.baseline_value);
    }
  }

  // Status, in the order of the semantics.
  const std::string bp = base_period.ToString();
  const std::string cp = current_period.ToString();
  auto insufficient = [&r](std::string reason) {
    r.status = Status::kInsufficientData;
    r.status_reason = std::move(reason);
    return std::move(r);
  };
  if (a.population == 0) return insufficient("no enterprise in the population");
  if (r.baseline_reporters == 0) return insufficient(absl::StrCat("no reporters in ", bp));
  if (!ApproxGe(r.baseline_coverage_ratio, r.coverage_floor)) {
    return insufficient(absl::StrFormat("coverage in %s is %.2f, under the floor %.2f", bp,
                                        r.baseline_coverage_ratio, r.coverage_floor));
  }
  if (!ApproxGe(r.coverage_ratio, r.coverage_floor)) {
    return insufficient(absl::StrFormat("coverage in %s is %.2f, under the floor %.2f", cp,
                                        r.coverage_ratio, r.coverage_floor));
  }
  if (!have_all) {
    return insufficient(absl::StrCat("no enterprise reported in both ", bp, " and ", cp,
                                     ", so the baseline is undefined"));
  }
  const double base = *r.baseline_value;
  const double tv = *r.target_value;
  if (r.current_value && Meets(target.rule, *r.current_value, tv)) {
    r.status = Status::kAchieved;
    r.status_reason =
        absl::StrCat("current ", Num(*r.current_value), " meets ", Symbol(dir), " ", Num(tv));
    return r;
  }
  if (!r.forecast_value) {
    return insufficient(absl::StrCat("only ", r.points.size(), " period with reporters from ", bp,
                                     " to ", cp, "; a forecast needs two"));
  }
  const double fc = *r.forecast_value;
  const std::string at = target.deadline.ToString();
  // f is undefined when the target equals the baseline, and meaningless when the
  // baseline already lies beyond the target (an absolute rule the baseline met): then
  // the forecast must meet the rule.
  const bool beyond = !target_is_base && Meets(target.rule, base, tv);
  if (target_is_base || beyond) {
    const bool ok = Meets(target.rule, fc, tv);
    r.status = ok ? Status::kOnTrack : Status::kOffTrack;
    r.status_reason =
        absl::StrCat(target_is_base ? absl::StrCat("target equals the baseline ", Num(base))
                                    : absl::StrCat("the baseline ", Num(base), " met the rule"),
                     "; forecast ", Num(fc), " at ", at, ok ? " meets " : " does not meet ",
                     Symbol(dir), " ", Num(tv));
    return r;
  }
  const double f = (fc - base) / (tv - base);
  const std::string covers = absl::StrCat("forecast at ", at, " covers ", Share(f), " of the gap");
  if (ApproxGe(f, 1)) {
    r.status = Status::kOnTrack;
    r.status_reason = absl::StrCat(covers, ": ", Num(fc), " meets ", Symbol(dir), " ", Num(tv));
  } else if (ApproxGe(f, 0.5)) {
    r.status = Status::kAtRisk;
    r.status_reason =
        absl::StrCat(covers, " (at least half): ", Num(fc), ", target ", Symbol(dir), " ", Num(tv));
  } else {
    r.status = Status::kOffTrack;
    r.status_reason =
        absl::StrCat(covers, " (under half): ", Num(fc), ", target ", Symbol(dir), " ", Num(tv));
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Breakdown groups: a dense key space per dimension, so the hot loop indexes an array.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr int kProvinceKeys = 100;      // two digits; +1 for an unknown region
constexpr int kPrefectureKeys = 10000;  // four digits; +1 for an unknown region
constexpr int kDivisionKeys = 2600;     // letter A-Z and two digits; +1 for no division
constexpr int kEnumKeys = 256;

int KeySpace(Dimension d) {
  switch (d) {
    case Dimension::kProvince:
      return kProvinceKeys + 1;
    case Dimension::kPrefecture:
      return kPrefectureKeys + 1;
    case Dimension::kIndustryDivision:
      return kDivisionKeys + 1;
    case Dimension::kOwnership:
    case Dimension::kSize:
      return kEnumKeys;
    case Dimension::kUnspecified:
      break;
  }
  return 1;
}

int KeyOf(Dimension d, const EnterpriseAttrs& e) {
  switch (d) {
    case Dimension::kProvince: {
      const std::string& r = e.region;
      if (r.size() >= 2 && IsDigit(r[0]) && IsDigit(r[1])) return (r[0] - '0') * 10 + (r[1] - '0');
      return kProvinceKeys;
    }
    case Dimension::kPrefecture: {
      const std::string& r = e.region;
      if (r.size() >= 4 && IsDigit(r[0]) && IsDigit(r[1]) && IsDigit(r[2]) && IsDigit(r[3])) {
        return (r[0] - '0') * 1000 + (r[1] - '0') * 100 + (r[2] - '0') * 10 + (r[3] - '0');
      }
      return kPrefectureKeys;
    }
    case Dimension::kIndustryDivision: {
      const std::string& s = e.industry;
      if (s.size() >= 3 && s[0] >= 'A' && s[0] <= 'Z' && IsDigit(s[1]) && IsDigit(s[2])) {
        return (s[0] - 'A') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
      }
      return kDivisionKeys;
    }
    case Dimension::kOwnership:
      return e.ownership;
    case Dimension::kSize:
      return e.size;
    case Dimension::kUnspecified:
      break;
  }
  return 0;
}

const char* const kOwnershipNames[] = {"OWNERSHIP_UNSPECIFIED",      "OWNERSHIP_STATE_OWNED",
                                       "OWNERSHIP_COLLECTIVE",       "OWNERSHIP_PRIVATE",
                                       "OWNERSHIP_JOINT_STOCK",      "OWNERSHIP_HMT_INVESTED",
                                       "OWNERSHIP_FOREIGN_INVESTED", "OWNERSHIP_OTHER"};
const char* const kOwnershipLabels[] = {"unspecified",      "state-owned",
                                        "collective",       "private",
                                        "joint-stock",      "Hong Kong, Macao or Taiwan invested",
                                        "foreign-invested", "other"};
const char* const kSizeNames[] = {"ENTERPRISE_SIZE_UNSPECIFIED", "ENTERPRISE_SIZE_LARGE",
                                  "ENTERPRISE_SIZE_MEDIUM", "ENTERPRISE_SIZE_SMALL",
                                  "ENTERPRISE_SIZE_MICRO"};
const char* const kSizeLabels[] = {"unspecified", "large", "medium", "small", "micro"};

// The narrower of two literal prefixes of the same codes.
std::string Narrow(const std::string& scope_prefix, const std::string& group_prefix) {
  return scope_prefix.size() >= group_prefix.size() ? scope_prefix : group_prefix;
}

// Key, label and narrowed scope of a group.
void DescribeGroup(Dimension d, int key, const Scope& scope, BreakdownGroup& g) {
  g.result.scope = scope;
  switch (d) {
    case Dimension::kProvince: {
      if (key == kProvinceKeys) {
        g.key = "unknown";
        g.label = "unknown region";
        return;
      }
      std::string two = absl::StrFormat("%02d", key);
      g.key = absl::StrCat(two, "0000");
      g.label = refdata::ProvinceName(two).value_or(g.key);
      g.result.scope.region_prefix = Narrow(scope.region_prefix, two);
      return;
    }
    case Dimension::kPrefecture: {
      if (key == kPrefectureKeys) {
        g.key = "unknown";
        g.label = "unknown region";
        return;
      }
      std::string four = absl::StrFormat("%04d", key);
      g.key = absl::StrCat(four, "00");
      auto province = refdata::ProvinceName(four);
      g.label = province ? absl::StrCat(*province, " ", g.key) : g.key;
      g.result.scope.region_prefix = Narrow(scope.region_prefix, four);
      return;
    }
    case Dimension::kIndustryDivision: {
      if (key == kDivisionKeys) {
        g.key = "unknown";
        g.label = "no industry division";
        return;
      }
      g.key = absl::StrFormat("%c%02d", static_cast<char>('A' + key / 100), key % 100);
      auto division = refdata::FindDivision(g.key);
      g.label = division ? division->name : g.key;
      g.result.scope.industry_prefix = Narrow(scope.industry_prefix, g.key);
      return;
    }
    case Dimension::kOwnership:
      if (key >= 0 && key <= kMaxOwnership) {
        g.key = kOwnershipNames[key];
        g.label = kOwnershipLabels[key];
      } else {
        g.key = absl::StrCat("OWNERSHIP_", key);
        g.label = g.key;
      }
      g.result.scope.ownership = key;
      return;
    case Dimension::kSize:
      if (key >= 0 && key <= kMaxEnterpriseSize) {
        g.key = kSizeNames[key];
        g.label = kSizeLabels[key];
      } else {
        g.key = absl::StrCat("ENTERPRISE_SIZE_", key);
        g.label = g.key;
      }
      g.result.scope.size = key;
      return;
    case Dimension::kUnspecified:
      break;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Validation.

absl::Status ValidateRule(const Rule& rule, absl::string_view field) {
  switch (rule.kind) {
    case Rule::Kind::kUnset:
      return InvalidField(field, "must be set: absolute, multiple or relative_change");
    case Rule::Kind::kAbsolute: {
      std::vector<FieldViolation> v;
      if (rule.comparison != Comparison::kGe && rule.comparison != Comparison::kLe) {
        v.push_back({absl::StrCat(field, ".absolute.comparison"),
                     "must be COMPARISON_GE or COMPARISON_LE"});
      }
      if (!std::isfinite(rule.value)) {
        v.push_back({absl::StrCat(field, ".absolute.value"), "must be finite"});
      }
      return v.empty() ? absl::OkStatus() : InvalidFields(v);
    }
    case Rule::Kind::kMultiple:
      if (!std::isfinite(rule.value) || rule.value <= 0) {
        return InvalidField(absl::StrCat(field, ".multiple.multiple"), "must be finite and > 0");
      }
      return absl::OkStatus();
    case Rule::Kind::kRelativeChange:
      if (!std::isfinite(rule.value) || rule.value <= -1 || rule.value == 0) {
        return InvalidField(absl::StrCat(field, ".relative_change.change"),
                            "must be finite, greater than -1 and not 0");
      }
      return absl::OkStatus();
  }
  return InvalidField(field, "unknown rule kind");
}

absl::Status ValidateTarget(const Target& target, const IndicatorInfo& indicator,
                            absl::string_view field) {
  auto f = [&](absl::string_view name) { return absl::StrCat(field, ".", name); };
  std::vector<FieldViolation> v;
  if (!IsKebabCase(target.id)) {
    v.push_back({f("id"),
                 "must be lower-case kebab case (a-z, 0-9, single hyphens inside), 1-64 "
                 "characters"});
  }
  if (absl::StripAsciiWhitespace(target.title).empty() || target.title.size() > kMaxTitle) {
    v.push_back({f("title"), "must be 1-200 bytes and not blank"});
  }
  if (target.description.size() > kMaxDescription) {
    v.push_back({f("description"), "must be at most 2000 bytes"});
  }
  if (target.indicator.empty()) {
    v.push_back({f("indicator"), "must not be empty"});
  } else if (!indicator.id.empty() && target.indicator != indicator.id) {
    v.push_back({f("indicator"), absl::StrCat("does not name indicator \"", indicator.id, "\"")});
  }
  const Population& pop = target.population;
  if (pop.kind < 0 || pop.kind > kMaxOrganizationKind) {
    v.push_back({f("population.kind"), "is not an OrganizationKind"});
  }
  if (pop.ownership < 0 || pop.ownership > kMaxOwnership) {
    v.push_back({f("population.ownership"), "is not an Ownership"});
  }
  if (pop.size < 0 || pop.size > kMaxEnterpriseSize) {
    v.push_back({f("population.size"), "is not an EnterpriseSize"});
  }
  switch (target.aggregation) {
    case Aggregation::kShareTrue:
    case Aggregation::kCountTrue:
      if (!indicator.boolean) {
        v.push_back({f("aggregation"), absl::StrCat(AggregationName(target.aggregation),
                                                    " needs a boolean indicator; \"",
                                                    target.indicator, "\" is a number")});
      }
      break;
    case Aggregation::kMean:
    case Aggregation::kMedian:
      if (indicator.boolean) {
        v.push_back({f("aggregation"), absl::StrCat(AggregationName(target.aggregation),
                                                    " needs a number indicator; \"",
                                                    target.indicator, "\" is boolean")});
      }
      break;
    default:
      v.push_back({f("aggregation"),
                   "must be AGGREGATION_SHARE_TRUE, AGGREGATION_COUNT_TRUE, "
                   "AGGREGATION_MEAN or AGGREGATION_MEDIAN"});
  }
  for (const auto& rv : FieldViolations(ValidateRule(target.rule, f("rule")))) v.push_back(rv);
  const std::string granularity(refdata::GranularityName(indicator.granularity));
  bool periods_ok = true;
  for (const auto& [name, p] : {std::make_pair("baseline_period", &target.baseline),
                                std::make_pair("deadline_period", &target.deadline)}) {
    if (!ValidPeriod(*p)) {
      v.push_back({f(name), "is not a valid period"});
      periods_ok = false;
    } else if (p->granularity != indicator.granularity) {
      v.push_back({f(name), absl::StrCat("must be a ", granularity, ": indicator \"",
                                         target.indicator, "\" is reported per ", granularity)});
      periods_ok = false;
    }
  }
  if (periods_ok && !(target.baseline < target.deadline)) {
    v.push_back({f("deadline_period"),
                 absl::StrCat("must be after baseline_period ", target.baseline.ToString())});
  }
  const int mode = static_cast<int>(target.panel_mode);
  if (mode < 0 || mode > static_cast<int>(PanelMode::kAllReporters)) {
    v.push_back({f("panel_mode"), "is not a PanelMode"});
  }
  if (target.coverage_floor.has_value() &&
      !(std::isfinite(*target.coverage_floor) && *target.coverage_floor >= 0 &&
        *target.coverage_floor <= 1)) {
    v.push_back({f("coverage_floor"), "must be between 0 and 1"});
  }
  if (!v.empty()) return InvalidFields(v);
  if (indicator.retired) {
    return absl::FailedPreconditionError(
        absl::StrCat("indicator \"", target.indicator, "\" is retired"));
  }
  return absl::OkStatus();
}

absl::Status ValidateScope(const Scope& scope, absl::string_view field) {
  auto f = [&](absl::string_view name) { return absl::StrCat(field, ".", name); };
  std::vector<FieldViolation> v;
  if (absl::Status s = refdata::ValidateRegionPrefix(scope.region_prefix); !s.ok()) {
    v.push_back({f("region_prefix"), std::string(s.message())});
  }
  if (absl::Status s = refdata::ValidateIndustryPrefix(scope.industry_prefix); !s.ok()) {
    v.push_back({f("industry_prefix"), std::string(s.message())});
  }
  if (scope.ownership < 0 || scope.ownership > kMaxOwnership) {
    v.push_back({f("ownership"), "is not an Ownership"});
  }
  if (scope.size < 0 || scope.size > kMaxEnterpriseSize) {
    v.push_back({f("size"), "is not an EnterpriseSize"});
  }
  if (scope.kind < 0 || scope.kind > kMaxOrganizationKind) {
    v.push_back({f("kind"), "is not an OrganizationKind"});
  }
  return v.empty() ? absl::OkStatus() : InvalidFields(v);
}

absl::Status ValidateEvaluationPeriod(const Target& target, const Period& period,
                                      absl::string_view field) {
  if (!ValidPeriod(period)) return InvalidField(field, "is not a valid period");
  if (period.granularity != target.baseline.granularity) {
    return InvalidField(
        field, absl::StrCat("must be a ", refdata::GranularityName(target.baseline.granularity),
                            ": target \"", target.id, "\" is evaluated per ",
                            refdata::GranularityName(target.baseline.granularity)));
  }
  if (period < target.baseline) {
    return InvalidField(field, absl::StrCat("must not be before the target's baseline period ",
                                            target.baseline.ToString()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Semantics.

PanelMode EffectivePanelMode(const Target& target) {
  if (target.panel_mode == PanelMode::kMatched || target.panel_mode == PanelMode::kAllReporters) {
    return target.panel_mode;
  }
  return target.aggregation == Aggregation::kMean || target.aggregation == Aggregation::kMedian
             ? PanelMode::kMatched
             : PanelMode::kAllReporters;
}

double CoverageFloor(const Target& target) {
  return target.coverage_floor.value_or(kDefaultCoverageFloor);
}

std::optional<double> TargetValue(const Rule& rule, std::optional<double> base) {
  switch (rule.kind) {
    case Rule::Kind::kAbsolute:
      return rule.value;
    case Rule::Kind::kMultiple:
      if (!base) return std::nullopt;
      return rule.value * *base;
    case Rule::Kind::kRelativeChange:
      if (!base) return std::nullopt;
      return *base * (1 + rule.value);
    case Rule::Kind::kUnset:
      break;
  }
  return std::nullopt;
}

bool Meets(const Rule& rule, double value, double target_value) {
  switch (DirectionOf(rule)) {
    case Comparison::kGe:
      return ApproxGe(value, target_value);
    case Comparison::kLe:
      return ApproxLe(value, target_value);
    case Comparison::kUnspecified:
      break;
  }
  return false;
}

bool InPopulation(const EnterpriseAttrs& e, const Population& population, const Scope& scope) {
  if (e.archived) return false;
  if (population.kind != 0 && e.kind != population.kind) return false;
  if (population.key_only && !e.key) return false;
  if (population.ownership != 0 && e.ownership != population.ownership) return false;
  if (population.size != 0 && e.size != population.size) return false;
  if (scope.kind != 0 && e.kind != scope.kind) return false;
  if (scope.key_only && !e.key) return false;
  if (scope.ownership != 0 && e.ownership != scope.ownership) return false;
  if (scope.size != 0 && e.size != scope.size) return false;
  if (!absl::StartsWith(e.region, scope.region_prefix)) return false;
  if (!absl::StartsWith(e.industry, scope.industry_prefix)) return false;
  return true;
}

Result Evaluate(const Target& target, const Scope& scope, const Period& period,
                const Dataset& data) {
  const Plan plan = MakePlan(target, period, data);
  Accs total = plan.NewAccs();
  ReserveValues(plan, data, target.indicator, total);
  const int32_t n = data.size();
  for (int32_t i = 0; i < n; ++i) {
    if (!InPopulation(data.attrs(i), target.population, scope)) continue;
    AddEnterprise(plan, i, total, nullptr);
  }
  return Finish(target, scope, period, plan, total, data);
}

BreakdownResult Breakdown(const Target& target, const Scope& scope, const Period& period,
                          Dimension dimension, const Dataset& data) {
  const Plan plan = MakePlan(target, period, data);
  Accs total = plan.NewAccs();
  ReserveValues(plan, data, target.indicator, total);
  BreakdownResult out;
  if (dimension == Dimension::kUnspecified) {
    for (int32_t i = 0; i < data.size(); ++i) {
      if (InPopulation(data.attrs(i), target.population, scope)) {
        AddEnterprise(plan, i, total, nullptr);
      }
    }
    out.total = Finish(target, scope, period, plan, total, data);
    return out;
  }

  std::vector<int32_t> slot_of(static_cast<size_t>(KeySpace(dimension)), -1);
  std::vector<Accs> groups;
  std::vector<int> keys;
  const int32_t n = data.size();
  for (int32_t i = 0; i < n; ++i) {
    const EnterpriseAttrs& e = data.attrs(i);
    if (!InPopulation(e, target.population, scope)) continue;
    const int key = KeyOf(dimension, e);
    int32_t& slot = slot_of[static_cast<size_t>(key)];
    if (slot < 0) {
      slot = static_cast<int32_t>(groups.size());
      groups.push_back(plan.NewAccs());
      keys.push_back(key);
    }
    AddEnterprise(plan, i, total, &groups[static_cast<size_t>(slot)]);
  }

  out.total = Finish(target, scope, period, plan, total, data);
  out.groups.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    BreakdownGroup& group = out.groups[g];
    DescribeGroup(dimension, keys[g], scope, group);
    Scope narrowed = group.result.scope;
    group.result = Finish(target, narrowed, period, plan, groups[g], data);
  }
  std::sort(out.groups.begin(), out.groups.end(),
            [](const BreakdownGroup& a, const BreakdownGroup& b) {
              const bool ha = a.result.progress.has_value();
              const bool hb = b.result.progress.has_value();
              if (ha != hb) return ha;
              if (ha && *a.result.progress != *b.result.progress) {
                return *a.result.progress > *b.result.progress;
              }
              return a.key < b.key;
            });
  return out;
}

CheckResult CheckEnterprise(const std::string& indicator, const Period& baseline_period,
                            const Period& current_period, std::optional<double> baseline_value,
                            std::optional<double> current_value, const Rule& rule) {
  CheckResult c;
  c.baseline_value = baseline_value;
  c.current_value = current_value;
  c.required = TargetValue(rule, baseline_value);
  const std::string bp = baseline_period.ToString();
  const std::string cp = current_period.ToString();
  if (baseline_value && current_value && *baseline_value != 0) {
    c.measured_change = (*current_value - *baseline_value) / *baseline_value;
  }
  std::string rule_text;
  switch (rule.kind) {
    case Rule::Kind::kRelativeChange:
      rule_text = absl::StrCat(" (", Pct(rule.value), ")");
      break;
    case Rule::Kind::kMultiple:
      rule_text = absl::StrCat(" (", Num(rule.value), " x ", bp, ")");
      break;
    default:
      break;
  }
  const Comparison dir = DirectionOf(rule);
  std::string required =
      c.required ? absl::StrCat("required ", Symbol(dir), " ", Num(*c.required), rule_text)
                 : std::string("required value unknown");

  std::string line =
      absl::StrCat(indicator, " ", bp, " = ", baseline_value ? Num(*baseline_value) : "missing",
                   ", ", cp, " = ", current_value ? Num(*current_value) : "missing");
  if (!baseline_value || !current_value) {
    std::string which;
    if (!baseline_value && !current_value) {
      which = absl::StrCat("no values for ", bp, " and ", cp);
    } else {
      which = absl::StrCat("no value for ", baseline_value ? cp : bp);
    }
    c.meets = false;
    c.explanation = absl::StrCat(line, ": not met, ", which);
    return c;
  }
  if (rule.kind == Rule::Kind::kUnset) {
    c.explanation = absl::StrCat(line, ": not met, no rule");
    return c;
  }
  c.meets = c.required.has_value() && Meets(rule, *current_value, *c.required);
  std::string change = c.measured_change ? Pct(*c.measured_change)
                                         : std::string("change undefined from a baseline of 0");
  c.explanation =
      absl::StrCat(line, ": ", change, ", ", required, ": ", c.meets ? "met" : "not met");
  return c;
}

}  // namespace iplus::evaluation
