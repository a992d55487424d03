#pragma once

// Reporting periods: a year "2016", a quarter "2016-Q3" or a month "2016-07". Each
// indicator has one granularity, so periods are compared and ordered within one
// granularity; ParsePeriod accepts exactly these three spellings and nothing else.
//
// Period is a plain value type; every function here is pure and thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace iplus {
namespace refdata {

enum class Granularity { kYear, kQuarter, kMonth };

inline constexpr int kMinPeriodYear = 1900;
inline constexpr int kMaxPeriodYear = 2999;

struct Period {
  int year = kMinPeriodYear;
  Granularity granularity = Granularity::kYear;
  int index = 0;  // 0 for a year, 1-4 for a quarter, 1-12 for a month

  static Period Year(int year) { return Period{year, Granularity::kYear, 0}; }
  static Period Quarter(int year, int quarter) {
    return Period{year, Granularity::kQuarter, quarter};
  }
  static Period Month(int year, int month) { return Period{year, Granularity::kMonth, month}; }

  // "2016", "2016-Q3" or "2016-07"; ParsePeriod(p.ToString()) == p for valid periods.
  std::string ToString() const;

  // The following and preceding period of the same granularity ("2016-Q4" -> "2017-Q1").
  Period Next() const;
  Period Previous() const;

  // Whether every day of `other` lies within this period: a year contains its quarters
  // and months, a quarter its three months, and every period contains itself.
  bool Contains(const Period& other) const;
};

// Equality compares all three fields. The ordering is chronological within one
// granularity; periods of different granularities order by granularity first (year <
// quarter < month), which only serves to make Period usable as a map key.
bool operator==(const Period& a, const Period& b);
bool operator!=(const Period& a, const Period& b);
bool operator<(const Period& a, const Period& b);
bool operator>(const Period& a, const Period& b);
bool operator<=(const Period& a, const Period& b);
bool operator>=(const Period& a, const Period& b);

// Parses "YYYY", "YYYY-Qn" or "YYYY-MM" with a year in [kMinPeriodYear, kMaxPeriodYear].
// Anything else (surrounding spaces, "2016q3", "2016-7", "2016-Q5", "2016-13") is
// INVALID_ARGUMENT with a message without a field name.
absl::StatusOr<Period> ParsePeriod(absl::string_view text);

// "year", "quarter" or "month".
absl::string_view GranularityName(Granularity granularity);

// An integer that increases by one from each period to the next of the same
// granularity: year for years, year*4 + quarter - 1 for quarters, year*12 + month - 1
// for months. Suitable as a sorted-set score.
int PeriodOrdinal(const Period& period);

// The inverse of PeriodOrdinal: PeriodFromOrdinal(p.granularity, PeriodOrdinal(p)) == p.
// The year of the result is not range-checked.
Period PeriodFromOrdinal(Granularity granularity, int ordinal);

// The year a period falls in, as a year period ("2016-07" -> "2016").
Period YearOf(const Period& period);

// First and last day of a period ("2016-Q3" -> 2016-07-01 and 2016-09-30).
absl::CivilDay FirstDayOf(const Period& period);
absl::CivilDay LastDayOf(const Period& period);

// Whether the period has not started yet on `today`, i.e. its first day is after
// `today`. A period that has started but not finished (today's month, quarter or year)
// is not in the future; data may be reported for it, but it may still change.
bool StartsAfter(const Period& period, absl::CivilDay today);

}  // namespace refdata
}  // namespace iplus
