#include "common/refdata/industry.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus {
namespace refdata {
namespace {

MATCHER_P(IsInvalid, message, absl::StrCat("is INVALID_ARGUMENT \"", message, "\"")) {
  *result_listener << "status is " << arg;
  return arg.code() == absl::StatusCode::kInvalidArgument && arg.message() == message;
}

// Section of each division number 1-97 per GB/T 4754-2017, written as ranges.
char ExpectedSection(int n) {
  struct Range {
    char section;
    int first;
    int last;
  };
  static constexpr Range kRanges[] = {
      {'A', 1, 5},   {'B', 6, 12},  {'C', 13, 43}, {'D', 44, 46}, {'E', 47, 50},
      {'F', 51, 52}, {'G', 53, 60}, {'H', 61, 62}, {'I', 63, 65}, {'J', 66, 69},
      {'K', 70, 70}, {'L', 71, 72}, {'M', 73, 75}, {'N', 76, 79}, {'O', 80, 82},
      {'P', 83, 83}, {'Q', 84, 85}, {'R', 86, 90}, {'S', 91, 96}, {'T', 97, 97},
  };
  for (const Range& r : kRanges) {
    if (n >= r.first && n <= r.last) return r.section;
  }
  return '?';
}

std::string TwoDigits(int n) { return absl::StrCat(n / 10, n % 10); }

TEST(IndustryTest, SectionTable) {
  const auto& sections = Sections();
  ASSERT_EQ(sections.size(), 20u);
  for (size_t i = 0; i < sections.size(); ++i) {
    EXPECT_EQ(sections[i].letter, static_cast<char>('A' + i));
    EXPECT_FALSE(sections[i].name.empty());
    EXPECT_FALSE(sections[i].name_zh.empty());
  }
  EXPECT_EQ(sections[2].name, "Manufacturing");
}

TEST(IndustryTest, DivisionTable) {
  const auto& divisions = Divisions();
  ASSERT_EQ(divisions.size(), 97u);
  for (int n = 1; n <= 97; ++n) {
    const Division& d = divisions[n - 1];
    EXPECT_EQ(d.section, ExpectedSection(n)) << n;
    EXPECT_EQ(d.code, absl::StrCat(std::string(1, ExpectedSection(n)), TwoDigits(n)));
    EXPECT_FALSE(d.name.empty()) << d.code;
    EXPECT_FALSE(d.name_zh.empty()) << d.code;
    EXPECT_TRUE(ValidateIndustryCode(d.code).ok()) << d.code;
    EXPECT_TRUE(ValidateIndustryPrefix(d.code).ok()) << d.code;
    EXPECT_TRUE(ValidateIndustryPrefix(d.code.substr(0, 2)).ok()) << d.code;
    EXPECT_TRUE(ValidateIndustryPrefix(d.code.substr(0, 1)).ok()) << d.code;
    EXPECT_EQ(IsManufacturing(d.code), d.section == 'C') << d.code;
    ASSERT_TRUE(FindDivision(d.code).has_value()) << d.code;
    EXPECT_EQ(FindDivision(d.code)->name, d.name);
  }
  EXPECT_EQ(divisions[25].code, "C26");
  EXPECT_EQ(divisions[25].name, "Chemical raw materials and chemical products");
  EXPECT_EQ(divisions[25].name_zh, "化学原料和化学制品制造业");
  EXPECT_EQ(divisions[78].code, "N79");
  EXPECT_EQ(divisions[78].name, "Land management");
}

TEST(IndustryTest, ManufacturingDivisions) {
  const auto& m = ManufacturingDivisions();
  ASSERT_EQ(m.size(), 31u);
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i].code, absl::StrCat("C", 13 + i));
    EXPECT_EQ(m[i].section, 'C');
  }
  EXPECT_EQ(m.front().name, "Agricultural and sideline food processing");
  EXPECT_EQ(m[26 - 13].name, "Chemical raw materials and chemical products");
  EXPECT_EQ(m[39 - 13].name, "Computers, communication and other electronic equipment");
  EXPECT_EQ(m.back().name, "Repair of metal products, machinery and equipment");
}

TEST(IndustryTest, ValidCodes) {
  for (absl::string_view code : {"C26", "C261", "C2614", "C13", "C43", "C4390", "A01", "A0111",
                                 "T97", "T9700", "S96", "N79", "I65", "I6510", "K70"}) {
    EXPECT_TRUE(ValidateIndustryCode(code).ok()) << code << ": " << ValidateIndustryCode(code);
  }
}

TEST(IndustryTest, InvalidCodes) {
  EXPECT_THAT(ValidateIndustryCode("C12"), IsInvalid("division 12 belongs to section B, not C"));
  EXPECT_THAT(ValidateIndustryCode("C44"), IsInvalid("division 44 belongs to section D, not C"));
  EXPECT_THAT(ValidateIndustryCode("A13"), IsInvalid("division 13 belongs to section C, not A"));
  EXPECT_THAT(ValidateIndustryCode("C4420"), IsInvalid("division 44 belongs to section D, not C"));
  EXPECT_THAT(ValidateIndustryCode("C98"),
              IsInvalid("division 98 does not exist (divisions are 01 to 97)"));
  EXPECT_THAT(ValidateIndustryCode("A00"),
              IsInvalid("division 00 does not exist (divisions are 01 to 97)"));
  EXPECT_THAT(ValidateIndustryCode("c26"), IsInvalid("section letter must be upper case"));
  EXPECT_THAT(ValidateIndustryCode("Z26"), IsInvalid("unknown section 'Z' (sections are A to T)"));
  EXPECT_THAT(ValidateIndustryCode("U97"), IsInvalid("unknown section 'U' (sections are A to T)"));
  EXPECT_THAT(ValidateIndustryCode("126"), IsInvalid("unknown section '1' (sections are A to T)"));
  EXPECT_THAT(ValidateIndustryCode("C2a"),
              IsInvalid("section letter must be followed by digits only, got 'C2a'"));
  EXPECT_THAT(ValidateIndustryCode("C 26"),
              IsInvalid("section letter must be followed by digits only, got 'C 26'"));
  EXPECT_THAT(ValidateIndustryCode(""), IsInvalid("must not be empty"));
  const std::string kShape =
      "must be a section letter and 2 to 4 digits (\"C26\", \"C261\", \"C2614\"), got '";
  EXPECT_THAT(ValidateIndustryCode("C"), IsInvalid(kShape + "C'"));
  EXPECT_THAT(ValidateIndustryCode("C2"), IsInvalid(kShape + "C2'"));
  EXPECT_THAT(ValidateIndustryCode("C999999"), IsInvalid(kShape + "C999999'"));
  EXPECT_THAT(ValidateIndustryCode("C26140"), IsInvalid(kShape + "C26140'"));
}

TEST(IndustryTest, EverySectionDivisionPairIsChecked) {
  for (char section = 'A'; section <= 'T'; ++section) {
    for (int n = 0; n < 100; ++n) {
      std::string code = absl::StrCat(std::string(1, section), TwoDigits(n));
      bool valid = n >= 1 && n <= 97 && ExpectedSection(n) == section;
      EXPECT_EQ(ValidateIndustryCode(code).ok(), valid) << code;
      EXPECT_EQ(ValidateIndustryPrefix(code).ok(), valid) << code;
      EXPECT_EQ(FindDivision(code).has_value(), valid) << code;
    }
  }
}

TEST(IndustryTest, Prefixes) {
  for (absl::string_view prefix :
       {"", "A", "C", "T", "A0", "C1", "C2", "C3", "C4", "C26", "C261", "C2614", "T9", "S9"}) {
    EXPECT_TRUE(ValidateIndustryPrefix(prefix).ok())
        << prefix << ": " << ValidateIndustryPrefix(prefix);
  }
  EXPECT_THAT(ValidateIndustryPrefix("C5"), IsInvalid("no division of section C starts with 5"));
  EXPECT_THAT(ValidateIndustryPrefix("C0"), IsInvalid("no division of section C starts with 0"));
  EXPECT_THAT(ValidateIndustryPrefix("A1"), IsInvalid("no division of section A starts with 1"));
  EXPECT_THAT(ValidateIndustryPrefix("Z"), IsInvalid("unknown section 'Z' (sections are A to T)"));
  EXPECT_THAT(ValidateIndustryPrefix("c"), IsInvalid("section letter must be upper case"));
  EXPECT_THAT(ValidateIndustryPrefix("C12"), IsInvalid("division 12 belongs to section B, not C"));
  EXPECT_THAT(ValidateIndustryPrefix("C26140"), IsInvalid("must be at most 5 characters, got 6"));
  EXPECT_THAT(ValidateIndustryPrefix("C2x"),
              IsInvalid("section letter must be followed by digits only, got 'C2x'"));
  EXPECT_THAT(ValidateIndustryPrefix("26"), IsInvalid("unknown section '2' (sections are A to T)"));
}

TEST(IndustryTest, IsManufacturing) {
  for (absl::string_view code : {"C13", "C26", "C2614", "C43", "C431"}) {
    EXPECT_TRUE(IsManufacturing(code)) << code;
  }
  for (absl::string_view code : {"", "C", "C1", "C12", "C44", "B12", "D44", "c26", "C999999"}) {
    EXPECT_FALSE(IsManufacturing(code)) << code;
  }
}

TEST(IndustryTest, DivisionOfAndFindDivision) {
  EXPECT_EQ(DivisionOf("C2614"), "C26");
  EXPECT_EQ(DivisionOf("C261"), "C26");
  EXPECT_EQ(DivisionOf("C26"), "C26");
  EXPECT_EQ(DivisionOf("C2"), "");
  auto d = FindDivision("C39");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->section, 'C');
  EXPECT_EQ(d->name, "Computers, communication and other electronic equipment");
  EXPECT_FALSE(FindDivision("C2614").has_value());
  EXPECT_FALSE(FindDivision("C").has_value());
  EXPECT_FALSE(FindDivision("").has_value());
  EXPECT_FALSE(FindDivision("c26").has_value());
  EXPECT_FALSE(FindDivision("B26").has_value());
  EXPECT_FALSE(FindDivision("Cx6").has_value());
  EXPECT_EQ(FindDivision(DivisionOf("C2614"))->code, "C26");
}

}  // namespace
}  // namespace refdata
}  // namespace iplus
