#pragma once

// The evaluation semantics of the plan's targets (docs/evaluation.md, DESIGN §2): pure
// functions over a Dataset. Callers validate first; the evaluation functions assume a
// valid target, scope and period (same granularity as the target, not before its
// baseline).

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/refdata/period.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

// What the evaluation needs to know of a target's indicator.
struct IndicatorInfo {
  std::string id;
  bool boolean = false;  // bool indicator (values 0/1) or number
  refdata::Granularity granularity = refdata::Granularity::kYear;
  bool retired = false;
};

// INVALID_ARGUMENT naming the field under `field` ("target.rule.multiple.multiple",
// "target.baseline_period", ...) for a malformed target: id, title length, rule,
// aggregation (unspecified, or not suited to the indicator's value type), periods (of
// the indicator's granularity, baseline before deadline), coverage floor (0..1),
// population enums. FAILED_PRECONDITION for a retired indicator.
absl::Status ValidateTarget(const Target& target, const IndicatorInfo& indicator,
                            absl::string_view field = "target");
// INVALID_ARGUMENT naming the field for a malformed rule.
absl::Status ValidateRule(const Rule& rule, absl::string_view field = "rule");
// INVALID_ARGUMENT naming "<field>.region_prefix", "<field>.industry_prefix", ... .
absl::Status ValidateScope(const Scope& scope, absl::string_view field = "scope");
// INVALID_ARGUMENT naming `field` for a period that is malformed, of another granularity
// than the target's, or before its baseline.
absl::Status ValidateEvaluationPeriod(const Target& target, const Period& period,
                                      absl::string_view field = "period");

// The panel mode applied: the target's, or the aggregation's default (matched for mean
// and median, all reporters for share and count of true).
PanelMode EffectivePanelMode(const Target& target);
double CoverageFloor(const Target& target);

// Target value for a baseline value; nullopt when the rule needs a baseline and there is
// none. Meets compares with a relative tolerance of 1e-12.
std::optional<double> TargetValue(const Rule& rule, std::optional<double> base);
bool Meets(const Rule& rule, double value, double target_value);

// True when the enterprise matches the target's population and the scope (and is not
// archived).
bool InPopulation(const EnterpriseAttrs& e, const Population& population, const Scope& scope);

// Evaluates one target for a scope and period.
Result Evaluate(const Target& target, const Scope& scope, const Period& period,
                const Dataset& data);

// Evaluates the target for each group of a dimension within the scope: groups with an
// empty population are left out; league-table order (groups with a progress by progress,
// highest first, then the others; ties by key). Counts of the groups add up to the
// total's.
BreakdownResult Breakdown(const Target& target, const Scope& scope, const Period& period,
                          Dimension dimension, const Dataset& data);

// One enterprise's change between two periods against a rule.
struct CheckResult {
  std::optional<double> baseline_value;
  std::optional<double> current_value;
  std::optional<double> measured_change;  // (current - baseline) / baseline
  std::optional<double> required;         // the target value the rule requires
  bool meets = false;
  std::string explanation;  // one line for people
};
CheckResult CheckEnterprise(const std::string& indicator, const Period& baseline_period,
                            const Period& current_period, std::optional<double> baseline_value,
                            std::optional<double> current_value, const Rule& rule);

}  // namespace iplus::evaluation
