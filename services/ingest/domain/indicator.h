#pragma once

// The indicator catalogue: what enterprises report, in which type, range and period
// granularity. The plan's five indicators are built in; an admin adds or retires others.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/refdata/period.h"

namespace iplus::ingest {

// Numbers equal the v1 API's enum numbers.
enum class ValueType : int { kUnspecified = 0, kBoolean = 1, kNumber = 2 };
enum class IndicatorStatus : int { kUnspecified = 0, kActive = 1, kRetired = 2 };

// An interval; an unset bound is unbounded on that side.
struct ValueRange {
  absl::optional<double> min;
  bool min_inclusive = false;
  absl::optional<double> max;
  bool max_inclusive = false;

  bool Contains(double x) const;
  bool Unbounded() const { return !min.has_value() && !max.has_value(); }
  std::string ToString() const;  // e.g. "(0, +inf)", "[0, 100]"
  bool operator==(const ValueRange& o) const {
    return min == o.min && max == o.max && (!min || min_inclusive == o.min_inclusive) &&
           (!max || max_inclusive == o.max_inclusive);
  }
};

struct Indicator {
  std::string id;
  std::string title;
  std::string unit;
  ValueType value_type = ValueType::kUnspecified;
  ValueRange range;
  // Accepted but flagged outside this band (within `range`).
  ValueRange plausible_range;
  refdata::Granularity granularity = refdata::Granularity::kYear;
  bool higher_is_better = true;
  std::string description;
  IndicatorStatus status = IndicatorStatus::kActive;
  std::string retire_reason;
  absl::Time create_time;
  absl::Time update_time;

  // Same client-supplied definition (ignores status, reason and times).
  bool SameDefinition(const Indicator& o) const;
};

// The plan's indicators: innovation_platform, industry_cloud (booleans),
// product_dev_cycle_days (> 0), inventory_turnover (> 0 times a year) and
// energy_utilization_rate (0-100 %), all annual.
std::vector<Indicator> BuiltinIndicators();

// INVALID_ARGUMENT naming "<prefix>.<field>" for a definition a client may not create.
absl::Status ValidateIndicator(const Indicator& indicator, const std::string& prefix);

}  // namespace iplus::ingest
