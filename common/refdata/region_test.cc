#include "common/refdata/region.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus {
namespace refdata {
namespace {

using ::testing::Optional;

MATCHER_P(IsInvalid, message, absl::StrCat("is INVALID_ARGUMENT \"", message, "\"")) {
  *result_listener << "status is " << arg;
  return arg.code() == absl::StatusCode::kInvalidArgument && arg.message() == message;
}

TEST(RegionTest, ProvinceTable) {
  const auto& provinces = Provinces();
  ASSERT_EQ(provinces.size(), 34u);
  std::vector<std::string> two_digits;
  for (const Province& p : provinces) two_digits.push_back(p.code.substr(0, 2));
  EXPECT_THAT(
      two_digits,
      ::testing::ElementsAre("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                             "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                             "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"));
  for (const Province& p : provinces) {
    EXPECT_TRUE(ValidateRegionCode(p.code).ok()) << p.code;
    EXPECT_EQ(LevelOf(p.code), RegionLevel::kProvince) << p.code;
    EXPECT_EQ(p.code.substr(2), "0000");
    EXPECT_FALSE(p.name.empty());
    EXPECT_FALSE(p.name_zh.empty());
    EXPECT_THAT(ProvinceName(p.code), Optional(p.name));
  }
  EXPECT_EQ(provinces.front().name, "Beijing");
  EXPECT_EQ(provinces.front().name_zh, "北京市");
  EXPECT_EQ(provinces[18].code, "440000");
  EXPECT_EQ(provinces[18].name, "Guangdong");
  EXPECT_EQ(provinces[18].name_zh, "广东省");
  EXPECT_EQ(provinces.back().name, "Macao");
  EXPECT_EQ(&Provinces(), &provinces);
}

TEST(RegionTest, ValidCodes) {
  for (absl::string_view code :
       {"440000", "440100", "440103", "110000", "110101", "350100", "820000", "654326"}) {
    EXPECT_TRUE(ValidateRegionCode(code).ok()) << code << ": " << ValidateRegionCode(code);
  }
}

TEST(RegionTest, InvalidCodes) {
  EXPECT_THAT(ValidateRegionCode("990000"), IsInvalid("unknown province '99'"));
  EXPECT_THAT(ValidateRegionCode("000000"), IsInvalid("unknown province '00'"));
  EXPECT_THAT(ValidateRegionCode("100000"), IsInvalid("unknown province '10'"));
  EXPECT_THAT(ValidateRegionCode("440003"),
              IsInvalid("county part must be 00 when the prefecture part is 00, got '440003'"));
  EXPECT_THAT(ValidateRegionCode("44010"), IsInvalid("must be 6 digits, got '44010'"));
  EXPECT_THAT(ValidateRegionCode("4401a3"), IsInvalid("must be 6 digits, got '4401a3'"));
  EXPECT_THAT(ValidateRegionCode(""), IsInvalid("must be 6 digits, got ''"));
  EXPECT_THAT(ValidateRegionCode("4401033"), IsInvalid("must be 6 digits, got '4401033'"));
  EXPECT_THAT(ValidateRegionCode(" 44010"), IsInvalid("must be 6 digits, got ' 44010'"));
  EXPECT_THAT(ValidateRegionCode("-44010"), IsInvalid("must be 6 digits, got '-44010'"));
  EXPECT_THAT(ValidateRegionCode("44\n103"), IsInvalid("must be 6 digits, got '44\\n103'"));
}

TEST(RegionTest, EveryUnknownProvinceIsRejected) {
  std::set<std::string> known;
  for (const Province& p : Provinces()) known.insert(p.code.substr(0, 2));
  for (int pp = 0; pp < 100; ++pp) {
    std::string two = absl::StrCat(pp / 10, pp % 10);
    std::string code = absl::StrCat(two, "0000");
    EXPECT_EQ(ValidateRegionCode(code).ok(), known.count(two) == 1) << code;
    EXPECT_EQ(ValidateRegionPrefix(two).ok(), known.count(two) == 1) << two;
  }
}

TEST(RegionTest, Prefixes) {
  for (absl::string_view prefix : {"", "4", "9", "44", "440", "4401", "44010", "440103", "82"}) {
    EXPECT_TRUE(ValidateRegionPrefix(prefix).ok()) << prefix;
  }
  EXPECT_THAT(ValidateRegionPrefix("99"), IsInvalid("unknown province '99'"));
  EXPECT_THAT(ValidateRegionPrefix("9901"), IsInvalid("unknown province '99'"));
  EXPECT_THAT(ValidateRegionPrefix("4401033"),
              IsInvalid("must be at most 6 digits, got '4401033'"));
  EXPECT_THAT(ValidateRegionPrefix("4a"), IsInvalid("must be at most 6 digits, got '4a'"));
  EXPECT_THAT(ValidateRegionPrefix("44 "), IsInvalid("must be at most 6 digits, got '44 '"));
}

TEST(RegionTest, Hierarchy) {
  EXPECT_EQ(ProvinceOf("440103"), "440000");
  EXPECT_EQ(ProvinceOf("440100"), "440000");
  EXPECT_EQ(ProvinceOf("440000"), "440000");
  EXPECT_EQ(PrefectureOf("440103"), "440100");
  EXPECT_EQ(PrefectureOf("440100"), "440100");
  EXPECT_EQ(PrefectureOf("440000"), "440000");
  EXPECT_EQ(CountyOf("440103"), "440103");
  EXPECT_EQ(LevelOf("440000"), RegionLevel::kProvince);
  EXPECT_EQ(LevelOf("440100"), RegionLevel::kPrefecture);
  EXPECT_EQ(LevelOf("440103"), RegionLevel::kCounty);
  EXPECT_EQ(LevelOf("110101"), RegionLevel::kCounty);
  EXPECT_EQ(LevelOf("441900"), RegionLevel::kPrefecture);
}

TEST(RegionTest, MatchesPrefix) {
  EXPECT_TRUE(RegionMatchesPrefix("440103", ""));
  EXPECT_TRUE(RegionMatchesPrefix("440103", "4"));
  EXPECT_TRUE(RegionMatchesPrefix("440103", "44"));
  EXPECT_TRUE(RegionMatchesPrefix("440103", "4401"));
  EXPECT_TRUE(RegionMatchesPrefix("440103", "440103"));
  EXPECT_FALSE(RegionMatchesPrefix("440103", "4402"));
  EXPECT_FALSE(RegionMatchesPrefix("440103", "45"));
  EXPECT_FALSE(RegionMatchesPrefix("440103", "4401030"));
  EXPECT_FALSE(RegionMatchesPrefix("440103", "440104"));
}

TEST(RegionTest, ProvinceName) {
  EXPECT_THAT(ProvinceName("44"), Optional(std::string("Guangdong")));
  EXPECT_THAT(ProvinceName("440103"), Optional(std::string("Guangdong")));
  EXPECT_THAT(ProvinceName("11"), Optional(std::string("Beijing")));
  EXPECT_THAT(ProvinceName("35"), Optional(std::string("Fujian")));
  EXPECT_THAT(ProvinceName("54"), Optional(std::string("Tibet")));
  EXPECT_THAT(ProvinceName("81"), Optional(std::string("Hong Kong")));
  EXPECT_EQ(ProvinceName(""), absl::nullopt);
  EXPECT_EQ(ProvinceName("4"), absl::nullopt);
  EXPECT_EQ(ProvinceName("99"), absl::nullopt);
  EXPECT_EQ(ProvinceName("a4"), absl::nullopt);
}

}  // namespace
}  // namespace refdata
}  // namespace iplus
