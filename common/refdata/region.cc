#include "common/refdata/region.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace iplus {
namespace refdata {
namespace {

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The province entry for a two-digit province part, or nullptr.
const Province* FindProvince(absl::string_view pp) {
  for (const Province& p : Provinces()) {
    if (absl::StartsWith(p.code, pp)) return &p;
  }
  return nullptr;
}

}  // namespace

const std::vector<Province>& Provinces() {
  // Never destroyed, so callers may hold the reference during static destruction.
  static const auto* const kProvinces = new std::vector<Province>{
      {"110000", "Beijing", "北京市"},
      {"120000", "Tianjin", "天津市"},
      {"130000", "Hebei", "河北省"},
      {"140000", "Shanxi", "山西省"},
      {"150000", "Inner Mongolia", "内蒙古自治区"},
      {"210000", "Liaoning", "辽宁省"},
      {"220000", "Jilin", "吉林省"},
      {"230000", "Heilongjiang", "黑龙江省"},
      {"310000", "Shanghai", "上海市"},
      {"320000", "Jiangsu", "江苏省"},
      {"330000", "Zhejiang", "浙江省"},
      {"340000", "Anhui", "安徽省"},
      {"350000", "Fujian", "福建省"},
      {"360000", "Jiangxi", "江西省"},
      {"370000", "Shandong", "山东省"},
      {"410000", "Henan", "河南省"},
      {"420000", "Hubei", "湖北省"},
      {"430000", "Hunan", "湖南省"},
      {"440000", "Guangdong", "广东省"},
      {"450000", "Guangxi", "广西壮族自治区"},
      {"460000", "Hainan", "海南省"},
      {"500000", "Chongqing", "重庆市"},
      {"510000", "Sichuan", "四川省"},
      {"520000", "Guizhou", "贵州省"},
      {"530000", "Yunnan", "云南省"},
      {"540000", "Tibet", "西藏自治区"},
      {"610000", "Shaanxi", "陕西省"},
      {"620000", "Gansu", "甘肃省"},
      {"630000", "Qinghai", "青海省"},
      {"640000", "Ningxia", "宁夏回族自治区"},
      {"650000", "Xinjiang", "新疆维吾尔自治区"},
      {"710000", "Taiwan", "台湾省"},
      {"810000", "Hong Kong", "香港特别行政区"},
      {"820000", "Macao", "澳门特别行政区"},
  };
  return *kProvinces;
}

absl::Status ValidateRegionCode(absl::string_view code) {
  if (code.size() != 6 || !AllDigits(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be 6 digits, got '", absl::CHexEscape(code), "'"));
  }
  if (FindProvince(code.substr(0, 2)) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown province '", code.substr(0, 2), "'"));
  }
  if (code.substr(2, 2) == "00" && code.substr(4, 2) != "00") {
    return absl::InvalidArgumentError(
        absl::StrCat("county part must be 00 when the prefecture part is 00, got '", code, "'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRegionPrefix(absl::string_view prefix) {
  if (prefix.size() > 6 || !AllDigits(prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be at most 6 digits, got '", absl::CHexEscape(prefix), "'"));
  }
  if (prefix.size() >= 2 && FindProvince(prefix.substr(0, 2)) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown province '", prefix.substr(0, 2), "'"));
  }
  return absl::OkStatus();
}

std::string ProvinceOf(absl::string_view code) { return absl::StrCat(code.substr(0, 2), "0000"); }

std::string PrefectureOf(absl::string_view code) { return absl::StrCat(code.substr(0, 4), "00"); }

std::string CountyOf(absl::string_view code) { return std::string(code); }

RegionLevel LevelOf(absl::string_view code) {
  if (code.substr(2) == "0000") return RegionLevel::kProvince;
  if (code.substr(4) == "00") return RegionLevel::kPrefecture;
  return RegionLevel::kCounty;
}

bool RegionMatchesPrefix(absl::string_view code, absl::string_view prefix) {
  return absl::StartsWith(code, prefix);
}

absl::optional<std::string> ProvinceName(absl::string_view code_or_prefix) {
  if (code_or_prefix.size() < 2 || !AllDigits(code_or_prefix.substr(0, 2))) {
    return absl::nullopt;
  }
  const Province* p = FindProvince(code_or_prefix.substr(0, 2));
  if (p == nullptr) return absl::nullopt;
  return p->name;
}

}  // namespace refdata
}  // namespace iplus
