#pragma once

// Administrative division codes (GB/T 2260): six digits "PPCCDD", where PP is the
// province-level division, CC the prefecture and DD the county. A province is written
// "PP0000" and a prefecture "PPCC00". Only the 34 province-level divisions are built
// in; prefecture and county parts are checked for form, not looked up.
//
// A region prefix is a literal string prefix of the 6-digit code: "" is the whole
// country, "44" Guangdong, "4401" Guangzhou.
//
// All functions are pure and thread-safe.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace iplus {
namespace refdata {

struct Province {
  std::string code;     // "440000"
  std::string name;     // English, "Guangdong"
  std::string name_zh;  // Chinese, "广东省"
};

enum class RegionLevel { kProvince, kPrefecture, kCounty };

// The 34 province-level divisions in code order. The reference lives for the whole
// program.
const std::vector<Province>& Provinces();

// OK if `code` is six ASCII digits naming a known province, and a "00" prefecture part
// is followed by a "00" county part. Otherwise INVALID_ARGUMENT without a field name.
absl::Status ValidateRegionCode(absl::string_view code);

// OK if `prefix` is empty or 1 to 6 ASCII digits whose first two (when present) name a
// known province. Otherwise INVALID_ARGUMENT without a field name.
absl::Status ValidateRegionPrefix(absl::string_view prefix);

// REQUIRES for the four functions below: ValidateRegionCode(code).ok().
// "440103" -> "440000".
std::string ProvinceOf(absl::string_view code);
// "440103" -> "440100"; a province code is returned unchanged.
std::string PrefectureOf(absl::string_view code);
// The code itself: a county is the finest level.
std::string CountyOf(absl::string_view code);
// kProvince for "PP0000", kPrefecture for "PPCC00", kCounty otherwise.
RegionLevel LevelOf(absl::string_view code);

// Whether `code` starts with `prefix`; every code matches the empty prefix.
bool RegionMatchesPrefix(absl::string_view code, absl::string_view prefix);

// English name of the province named by the first two digits of a code or prefix
// ("44", "440103" -> "Guangdong"); nullopt if there are fewer than two digits or the
// province is unknown.
absl::optional<std::string> ProvinceName(absl::string_view code_or_prefix);

}  // namespace refdata
}  // namespace iplus
