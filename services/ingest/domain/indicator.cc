#include "services/ingest/domain/indicator.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace iplus::ingest {

bool ValueRange::Contains(double x) const {
  if (min.has_value() && (x < *min || (x == *min && !min_inclusive))) return false;
  if (max.has_value() && (x > *max || (x == *max && !max_inclusive))) return false;
  return true;
}

std::string ValueRange::ToString() const {
  return absl::StrCat(min && min_inclusive ? "[" : "(", min ? absl::StrCat(*min) : "-inf", ", ",
                      max ? absl::StrCat(*max) : "+inf", max && max_inclusive ? "]" : ")");
}

bool Indicator::SameDefinition(const Indicator& o) const {
  return id == o.id && title == o.title && unit == o.unit && value_type == o.value_type &&
         range == o.range && plausible_range == o.plausible_range && granularity == o.granularity &&
         higher_is_better == o.higher_is_better && description == o.description;
}

std::vector<Indicator> BuiltinIndicators() {
  auto make = [](std::string id, std::string title, std::string unit, ValueType type,
                 ValueRange range, ValueRange plausible, bool higher, std::string description) {
    Indicator i;
    i.id = std::move(id);
    i.title = std::move(title);
    i.unit = std::move(unit);
    i.value_type = type;
    i.range = range;
    i.plausible_range = plausible;
    i.higher_is_better = higher;
    i.description = std::move(description);
    return i;
  };
  ValueRange positive;
  positive.min = 0.0;
  ValueRange percent;
  percent.min = 0.0;
  percent.min_inclusive = true;
  percent.max = 100.0;
  percent.max_inclusive = true;
  auto band = [](double lo, double hi) {
    ValueRange r;
    r.min = lo;
    r.min_inclusive = true;
    r.max = hi;
    r.max_inclusive = true;
    return r;
  };
  return {
      make("energy_utilization_rate", "Comprehensive energy utilization rate", "%",
           ValueType::kNumber, percent, band(10, 99), true,
           "Share of input energy usefully used, in percent."),
      make("industry_cloud", "Uses industry cloud services", "", ValueType::kBoolean, {}, {}, true,
           "True when the enterprise runs production or management systems on an industry "
           "cloud platform."),
      make("innovation_platform", "Has an Internet-based innovation platform", "",
           ValueType::kBoolean, {}, {}, true,
           "True when the enterprise operates an open innovation or mass-entrepreneurship "
           "platform on the Internet."),
      make("inventory_turnover", "Inventory turnover", "times/year", ValueType::kNumber, positive,
           band(0.1, 100), true, "Cost of goods sold divided by average inventory, per year."),
      make("product_dev_cycle_days", "Product development cycle", "days", ValueType::kNumber,
           positive, band(1, 3650), false,
           "Average days from project start to market launch of new products."),
  };
}

absl::Status ValidateIndicator(const Indicator& i, const std::string& prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  if (i.id.empty() || i.id.size() > 64) return InvalidField(f("id"), "must be 1-64 characters");
  if (!absl::ascii_islower(i.id[0])) {
    return InvalidField(f("id"), "must start with a lower-case letter");
  }
  for (char c : i.id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return InvalidField(f("id"), "must be lower-case snake case (a-z, 0-9, _)");
    }
  }
  if (absl::StripAsciiWhitespace(i.title).empty() || i.title.size() > 200) {
    return InvalidField(f("title"), "must be 1-200 bytes");
  }
  if (i.unit.size() > 32) return InvalidField(f("unit"), "must be at most 32 bytes");
  if (i.description.size() > 2000) {
    return InvalidField(f("description"), "must be at most 2000 bytes");
  }
  if (i.value_type != ValueType::kBoolean && i.value_type != ValueType::kNumber) {
    return InvalidField(f("value_type"), "must be VALUE_TYPE_BOOLEAN or VALUE_TYPE_NUMBER");
  }
  for (const auto& [name, range] :
       {std::make_pair("range", i.range), std::make_pair("plausible_range", i.plausible_range)}) {
    if (i.value_type == ValueType::kBoolean && !range.Unbounded()) {
      return InvalidField(f(name), "must be unset for a boolean indicator");
    }
    for (const auto& bound : {range.min, range.max}) {
      if (bound.has_value() && !std::isfinite(*bound)) {
        return InvalidField(f(name), "bounds must be finite");
      }
    }
    if (range.min && range.max && *range.min > *range.max) {
      return InvalidField(f(name), "min must not exceed max");
    }
  }
  return absl::OkStatus();
}

}  // namespace iplus::ingest
