// ValidateRegionCode and ValidateRegionPrefix on arbitrary bytes. For valid codes, the
// level accessors must not crash and must agree with each other; for valid prefixes, the
// province name exists as soon as two digits are given.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/refdata/region.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iplus::refdata;
  const std::string text(reinterpret_cast<const char*>(data), size);

  (void)ProvinceName(text);
  (void)RegionMatchesPrefix(text, text.substr(0, size / 2));

  if (ValidateRegionPrefix(text).ok()) {
    FUZZ_CHECK(text.size() <= 6, text);
    FUZZ_CHECK(text.size() < 2 || ProvinceName(text).has_value(), text);
  }

  if (!ValidateRegionCode(text).ok()) return 0;
  const std::string province = ProvinceOf(text);
  const std::string prefecture = PrefectureOf(text);
  const std::string county = CountyOf(text);
  const RegionLevel level = LevelOf(text);
  FUZZ_CHECK(county == text, text);
  FUZZ_CHECK(ValidateRegionCode(province).ok(), text + " -> province " + province);
  FUZZ_CHECK(ValidateRegionCode(prefecture).ok(), text + " -> prefecture " + prefecture);
  FUZZ_CHECK(LevelOf(province) == RegionLevel::kProvince, text);
  FUZZ_CHECK(ProvinceOf(prefecture) == province, text);
  FUZZ_CHECK(RegionMatchesPrefix(text, province.substr(0, 2)), text);
  FUZZ_CHECK(RegionMatchesPrefix(text, prefecture.substr(0, 4)), text);
  FUZZ_CHECK(ValidateRegionPrefix(text).ok(), text);
  FUZZ_CHECK(ProvinceName(text).has_value(), text);
  if (level == RegionLevel::kProvince) FUZZ_CHECK(province == text, text);
  if (level == RegionLevel::kPrefecture) FUZZ_CHECK(prefecture == text, text);
  return 0;
}
