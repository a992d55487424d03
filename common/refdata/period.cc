#include "common/refdata/period.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace iplus {
namespace refdata {
namespace {

// Floor division and the matching non-negative remainder, so ordinals below zero (years
// before 0, never produced by ParsePeriod) still round-trip.
int FloorDiv(int a, int b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
int FloorMod(int a, int b) { return a - FloorDiv(a, b) * b; }

int PeriodsPerYear(Granularity g) {
  switch (g) {
    case Granularity::kYear:
      return 1;
    case Granularity::kQuarter:
      return 4;
    case Granularity::kMonth:
      return 12;
  }
  return 1;
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int ToInt(absl::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

// First month (1-12) of a period, and how many months it spans.
int FirstMonth(const Period& p) {
  switch (p.granularity) {
    case Granularity::kYear:
      return 1;
    case Granularity::kQuarter:
      return (p.index - 1) * 3 + 1;
    case Granularity::kMonth:
      return p.index;
  }
  return 1;
}

int MonthSpan(Granularity g) { return 12 / PeriodsPerYear(g); }

auto Key(const Period& p) { return std::make_tuple(p.granularity, p.year, p.index); }

absl::Status FormatError(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("must be \"YYYY\", \"YYYY-Qn\" or \"YYYY-MM\" (e.g. \"2016\", \"2016-Q3\", "
                   "\"2016-07\"), got '",
                   absl::CHexEscape(text), "'"));
}

}  // namespace

std::string Period::ToString() const {
  switch (granularity) {
    case Granularity::kYear:
      return absl::StrFormat("%04d", year);
    case Granularity::kQuarter:
      return absl::StrFormat("%04d-Q%d", year, index);
    case Granularity::kMonth:
      return absl::StrFormat("%04d-%02d", year, index);
  }
  return "";
}

Period Period::Next() const { return PeriodFromOrdinal(granularity, PeriodOrdinal(*this) + 1); }

Period Period::Previous() const { return PeriodFromOrdinal(granularity, PeriodOrdinal(*this) - 1); }

bool Period::Contains(const Period& other) const {
  if (year != other.year) return false;
  if (MonthSpan(other.granularity) > MonthSpan(granularity)) return false;
  int first = FirstMonth(*this);
  int other_first = FirstMonth(other);
  return other_first >= first &&
         other_first + MonthSpan(other.granularity) <= first + MonthSpan(granularity);
}

bool operator==(const Period& a, const Period& b) { return Key(a) == Key(b); }
bool operator!=(const Period& a, const Period& b) { return !(a == b); }
bool operator<(const Period& a, const Period& b) { return Key(a) < Key(b); }
bool operator>(const Period& a, const Period& b) { return b < a; }
bool operator<=(const Period& a, const Period& b) { return !(b < a); }
bool operator>=(const Period& a, const Period& b) { return !(a < b); }

absl::StatusOr<Period> ParsePeriod(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("must not contain spaces, got '", absl::CHexEscape(text), "'"));
    }
  }
  if (text.size() < 4 || !AllDigits(text.substr(0, 4))) return FormatError(text);
  int year = ToInt(text.substr(0, 4));
  absl::string_view rest = text.substr(4);
  if (!rest.empty() && rest[0] != '-') {
    if (rest[0] == 'Q' || rest[0] == 'q') {
      return absl::InvalidArgumentError(
          absl::StrCat("a quarter is written \"YYYY-Qn\" (e.g. \"2016-Q3\"), got '",
                       absl::CHexEscape(text), "'"));
    }
    return FormatError(text);
  }
  if (year < kMinPeriodYear || year > kMaxPeriodYear) {
    return absl::InvalidArgumentError(absl::StrCat("year must be between ", kMinPeriodYear, " and ",
                                                   kMaxPeriodYear, ", got ", year));
  }
  if (rest.empty()) return Period::Year(year);
  rest.remove_prefix(1);
  if (!rest.empty() && (rest[0] == 'Q' || rest[0] == 'q')) {
    if (rest[0] == 'q') {
      return absl::InvalidArgumentError(absl::StrCat(
          "quarter must be written with an upper-case 'Q', got '", absl::CHexEscape(text), "'"));
    }
    absl::string_view q = rest.substr(1);
    if (q.size() != 1 || !AllDigits(q)) {
      return absl::InvalidArgumentError(
          absl::StrCat("quarter must be one digit 1 to 4, got '", absl::CHexEscape(q), "'"));
    }
    int quarter = ToInt(q);
    if (quarter < 1 || quarter > 4) {
      return absl::InvalidArgumentError(absl::StrCat("quarter must be 1 to 4, got ", quarter));
    }
    return Period::Quarter(year, quarter);
  }
  if (rest.empty() || !AllDigits(rest)) return FormatError(text);
  if (rest.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("month must have 2 digits (01 to 12), got '", rest, "'"));
  }
  int month = ToInt(rest);
  if (month < 1 || month > 12) {
    return absl::InvalidArgumentError(absl::StrCat("month must be 01 to 12, got ", rest));
  }
  return Period::Month(year, month);
}

absl::string_view GranularityName(Granularity granularity) {
  switch (granularity) {
    case Granularity::kYear:
      return "year";
    case Granularity::kQuarter:
      return "quarter";
    case Granularity::kMonth:
      return "month";
  }
  return "unknown";
}

int PeriodOrdinal(const Period& period) {
  int per_year = PeriodsPerYear(period.granularity);
  if (per_year == 1) return period.year;
  return period.year * per_year + period.index - 1;
}

Period PeriodFromOrdinal(Granularity granularity, int ordinal) {
  int per_year = PeriodsPerYear(granularity);
  if (per_year == 1) return Period::Year(ordinal);
  return Period{FloorDiv(ordinal, per_year), granularity, FloorMod(ordinal, per_year) + 1};
}

Period YearOf(const Period& period) { return Period::Year(period.year); }

absl::CivilDay FirstDayOf(const Period& period) {
  return absl::CivilDay(period.year, FirstMonth(period), 1);
}

absl::CivilDay LastDayOf(const Period& period) {
  // The day before the first day of the next period.
  return FirstDayOf(period.Next()) - 1;
}

bool StartsAfter(const Period& period, absl::CivilDay today) { return FirstDayOf(period) > today; }

}  // namespace refdata
}  // namespace iplus
