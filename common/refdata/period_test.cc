#include "common/refdata/period.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus {
namespace refdata {
namespace {

MATCHER_P(IsInvalid, message, absl::StrCat("is INVALID_ARGUMENT \"", message, "\"")) {
  *result_listener << "status is " << arg.status();
  return arg.status().code() == absl::StatusCode::kInvalidArgument &&
         arg.status().message() == message;
}

MATCHER_P(ParsesTo, period, absl::StrCat("parses to ", period.ToString())) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "parsed " << arg->ToString();
  return *arg == period;
}

constexpr Granularity kAll[] = {Granularity::kYear, Granularity::kQuarter, Granularity::kMonth};

// Every valid period of a granularity, in order.
std::vector<Period> AllPeriods(Granularity g) {
  std::vector<Period> out;
  for (int year = kMinPeriodYear; year <= kMaxPeriodYear; ++year) {
    switch (g) {
      case Granularity::kYear:
        out.push_back(Period::Year(year));
        break;
      case Granularity::kQuarter:
        for (int q = 1; q <= 4; ++q) out.push_back(Period::Quarter(year, q));
        break;
      case Granularity::kMonth:
        for (int m = 1; m <= 12; ++m) out.push_back(Period::Month(year, m));
        break;
    }
  }
  return out;
}

TEST(PeriodTest, ParsesAllFormats) {
  EXPECT_THAT(ParsePeriod("2016"), ParsesTo(Period::Year(2016)));
  EXPECT_THAT(ParsePeriod("2016-Q3"), ParsesTo(Period::Quarter(2016, 3)));
  EXPECT_THAT(ParsePeriod("2016-07"), ParsesTo(Period::Month(2016, 7)));
  EXPECT_THAT(ParsePeriod("1900"), ParsesTo(Period::Year(1900)));
  EXPECT_THAT(ParsePeriod("2999"), ParsesTo(Period::Year(2999)));
  EXPECT_THAT(ParsePeriod("2016-Q1"), ParsesTo(Period::Quarter(2016, 1)));
  EXPECT_THAT(ParsePeriod("2016-Q4"), ParsesTo(Period::Quarter(2016, 4)));
  EXPECT_THAT(ParsePeriod("2016-01"), ParsesTo(Period::Month(2016, 1)));
  EXPECT_THAT(ParsePeriod("2016-12"), ParsesTo(Period::Month(2016, 12)));
  EXPECT_THAT(ParsePeriod("1900-01"), ParsesTo(Period::Month(1900, 1)));
  EXPECT_THAT(ParsePeriod("2999-Q4"), ParsesTo(Period::Quarter(2999, 4)));
}

TEST(PeriodTest, RejectsWithSpecificMessages) {
  EXPECT_THAT(ParsePeriod("2016-Q0"), IsInvalid("quarter must be 1 to 4, got 0"));
  EXPECT_THAT(ParsePeriod("2016-Q5"), IsInvalid("quarter must be 1 to 4, got 5"));
  EXPECT_THAT(ParsePeriod("2016-Q10"), IsInvalid("quarter must be one digit 1 to 4, got '10'"));
  EXPECT_THAT(ParsePeriod("2016-Q"), IsInvalid("quarter must be one digit 1 to 4, got ''"));
  EXPECT_THAT(ParsePeriod("2016-Qx"), IsInvalid("quarter must be one digit 1 to 4, got 'x'"));
  EXPECT_THAT(ParsePeriod("2016-13"), IsInvalid("month must be 01 to 12, got 13"));
  EXPECT_THAT(ParsePeriod("2016-00"), IsInvalid("month must be 01 to 12, got 00"));
  EXPECT_THAT(ParsePeriod("2016-99"), IsInvalid("month must be 01 to 12, got 99"));
  EXPECT_THAT(ParsePeriod("2016-7"), IsInvalid("month must have 2 digits (01 to 12), got '7'"));
  EXPECT_THAT(ParsePeriod("2016-007"), IsInvalid("month must have 2 digits (01 to 12), got '007'"));
  EXPECT_THAT(ParsePeriod(" 2016"), IsInvalid("must not contain spaces, got ' 2016'"));
  EXPECT_THAT(ParsePeriod("2016 "), IsInvalid("must not contain spaces, got '2016 '"));
  EXPECT_THAT(ParsePeriod("2016\n"), IsInvalid("must not contain spaces, got '2016\\n'"));
  EXPECT_THAT(ParsePeriod("2016- Q3"), IsInvalid("must not contain spaces, got '2016- Q3'"));
  EXPECT_THAT(ParsePeriod("2016q3"),
              IsInvalid("a quarter is written \"YYYY-Qn\" (e.g. \"2016-Q3\"), got '2016q3'"));
  EXPECT_THAT(ParsePeriod("2016Q3"),
              IsInvalid("a quarter is written \"YYYY-Qn\" (e.g. \"2016-Q3\"), got '2016Q3'"));
  EXPECT_THAT(ParsePeriod("2016-q3"),
              IsInvalid("quarter must be written with an upper-case 'Q', got '2016-q3'"));
  EXPECT_THAT(ParsePeriod("1899"), IsInvalid("year must be between 1900 and 2999, got 1899"));
  EXPECT_THAT(ParsePeriod("3000"), IsInvalid("year must be between 1900 and 2999, got 3000"));
  EXPECT_THAT(ParsePeriod("0000-Q1"), IsInvalid("year must be between 1900 and 2999, got 0"));
  EXPECT_THAT(ParsePeriod(""), IsInvalid("must not be empty"));
  const std::string kShape =
      "must be \"YYYY\", \"YYYY-Qn\" or \"YYYY-MM\" (e.g. \"2016\", \"2016-Q3\", \"2016-07\"), "
      "got '";
  for (absl::string_view text : {"16", "201", "20166", "2016-", "2016/07", "2016-M7", "2016-07-01",
                                 "abcd", "+2016", "-2016", "2016.5", "２０１６"}) {
    EXPECT_THAT(ParsePeriod(text), IsInvalid(absl::StrCat(kShape, absl::CHexEscape(text), "'")))
        << text;
  }
}

TEST(PeriodTest, ToStringRoundTripsEveryPeriod) {
  for (Granularity g : kAll) {
    for (const Period& p : AllPeriods(g)) {
      EXPECT_THAT(ParsePeriod(p.ToString()), ParsesTo(p));
    }
  }
  EXPECT_EQ(Period::Year(2016).ToString(), "2016");
  EXPECT_EQ(Period::Quarter(2016, 3).ToString(), "2016-Q3");
  EXPECT_EQ(Period::Month(2016, 7).ToString(), "2016-07");
  EXPECT_EQ(Period::Month(2016, 12).ToString(), "2016-12");
}

TEST(PeriodTest, OrderingWithinGranularity) {
  EXPECT_LT(Period::Year(2015), Period::Year(2016));
  EXPECT_LT(Period::Quarter(2015, 4), Period::Quarter(2016, 1));
  EXPECT_LT(Period::Quarter(2016, 2), Period::Quarter(2016, 3));
  EXPECT_LT(Period::Month(2016, 9), Period::Month(2016, 10));
  EXPECT_GT(Period::Month(2017, 1), Period::Month(2016, 12));
  EXPECT_LE(Period::Month(2016, 7), Period::Month(2016, 7));
  EXPECT_GE(Period::Month(2016, 7), Period::Month(2016, 7));
  EXPECT_EQ(Period::Month(2016, 7), Period::Month(2016, 7));
  EXPECT_NE(Period::Month(2016, 7), Period::Month(2016, 8));
  EXPECT_NE(Period::Year(2016), Period::Quarter(2016, 1));
  for (Granularity g : kAll) {
    auto all = AllPeriods(g);
    for (size_t i = 1; i < all.size(); ++i) {
      ASSERT_LT(all[i - 1], all[i]);
      ASSERT_FALSE(all[i] < all[i - 1]);
      ASSERT_LT(PeriodOrdinal(all[i - 1]), PeriodOrdinal(all[i]));
    }
  }
}

TEST(PeriodTest, MixedGranularitiesFormAStrictOrderForMapKeys) {
  std::map<Period, int> m;
  m[Period::Month(2016, 1)] = 3;
  m[Period::Year(2017)] = 1;
  m[Period::Quarter(2015, 4)] = 2;
  m[Period::Year(2016)] = 0;
  std::vector<std::string> keys;
  for (const auto& kv : m) keys.push_back(kv.first.ToString());
  EXPECT_THAT(keys, ::testing::ElementsAre("2016", "2017", "2015-Q4", "2016-01"));
}

TEST(PeriodTest, NextAndPrevious) {
  EXPECT_EQ(Period::Year(2016).Next(), Period::Year(2017));
  EXPECT_EQ(Period::Quarter(2016, 3).Next(), Period::Quarter(2016, 4));
  EXPECT_EQ(Period::Quarter(2016, 4).Next(), Period::Quarter(2017, 1));
  EXPECT_EQ(Period::Month(2016, 7).Next(), Period::Month(2016, 8));
  EXPECT_EQ(Period::Month(2016, 12).Next(), Period::Month(2017, 1));
  EXPECT_EQ(Period::Month(2017, 1).Previous(), Period::Month(2016, 12));
  EXPECT_EQ(Period::Quarter(2017, 1).Previous(), Period::Quarter(2016, 4));
  EXPECT_EQ(Period::Year(2017).Previous(), Period::Year(2016));
  for (Granularity g : kAll) {
    auto all = AllPeriods(g);
    for (size_t i = 1; i < all.size(); ++i) {
      ASSERT_EQ(all[i - 1].Next(), all[i]);
      ASSERT_EQ(all[i].Previous(), all[i - 1]);
    }
  }
}

TEST(PeriodTest, OrdinalRoundTrip) {
  EXPECT_EQ(PeriodOrdinal(Period::Year(2016)), 2016);
  EXPECT_EQ(PeriodOrdinal(Period::Quarter(2016, 3)), 2016 * 4 + 2);
  EXPECT_EQ(PeriodOrdinal(Period::Month(2016, 7)), 2016 * 12 + 6);
  for (Granularity g : kAll) {
    auto all = AllPeriods(g);
    for (size_t i = 0; i < all.size(); ++i) {
      int ordinal = PeriodOrdinal(all[i]);
      ASSERT_EQ(PeriodFromOrdinal(g, ordinal), all[i]);
      if (i > 0) {
        ASSERT_EQ(ordinal, PeriodOrdinal(all[i - 1]) + 1);
      }
      ASSERT_EQ(PeriodOrdinal(all[i].Next()), ordinal + 1);
    }
  }
  // Below zero the inverse still holds (floor division), though no parser produces it.
  for (int ordinal = -30; ordinal <= 30; ++ordinal) {
    for (Granularity g : kAll) {
      Period p = PeriodFromOrdinal(g, ordinal);
      EXPECT_EQ(PeriodOrdinal(p), ordinal);
      if (g != Granularity::kYear) {
        EXPECT_GE(p.index, 1);
      }
    }
  }
  EXPECT_EQ(PeriodFromOrdinal(Granularity::kMonth, -1), Period::Month(-1, 12));
}

TEST(PeriodTest, GranularityName) {
  EXPECT_EQ(GranularityName(Granularity::kYear), "year");
  EXPECT_EQ(GranularityName(Granularity::kQuarter), "quarter");
  EXPECT_EQ(GranularityName(Granularity::kMonth), "month");
}

TEST(PeriodTest, YearOfAndContains) {
  EXPECT_EQ(YearOf(Period::Month(2016, 7)), Period::Year(2016));
  EXPECT_EQ(YearOf(Period::Quarter(2016, 3)), Period::Year(2016));
  EXPECT_EQ(YearOf(Period::Year(2016)), Period::Year(2016));

  EXPECT_TRUE(Period::Year(2016).Contains(Period::Year(2016)));
  EXPECT_TRUE(Period::Year(2016).Contains(Period::Quarter(2016, 4)));
  EXPECT_TRUE(Period::Year(2016).Contains(Period::Month(2016, 1)));
  EXPECT_FALSE(Period::Year(2016).Contains(Period::Month(2017, 1)));
  EXPECT_FALSE(Period::Year(2016).Contains(Period::Year(2017)));
  EXPECT_TRUE(Period::Quarter(2016, 3).Contains(Period::Quarter(2016, 3)));
  EXPECT_FALSE(Period::Quarter(2016, 3).Contains(Period::Quarter(2016, 2)));
  EXPECT_FALSE(Period::Quarter(2016, 3).Contains(Period::Year(2016)));
  EXPECT_FALSE(Period::Month(2016, 7).Contains(Period::Quarter(2016, 3)));
  EXPECT_TRUE(Period::Month(2016, 7).Contains(Period::Month(2016, 7)));
  EXPECT_FALSE(Period::Month(2016, 7).Contains(Period::Month(2016, 8)));
  for (int q = 1; q <= 4; ++q) {
    for (int m = 1; m <= 12; ++m) {
      EXPECT_EQ(Period::Quarter(2016, q).Contains(Period::Month(2016, m)), (m - 1) / 3 + 1 == q)
          << q << " " << m;
      EXPECT_FALSE(Period::Quarter(2016, q).Contains(Period::Month(2015, m)));
    }
  }
}

TEST(PeriodTest, FirstAndLastDays) {
  EXPECT_EQ(FirstDayOf(Period::Year(2016)), absl::CivilDay(2016, 1, 1));
  EXPECT_EQ(LastDayOf(Period::Year(2016)), absl::CivilDay(2016, 12, 31));
  EXPECT_EQ(FirstDayOf(Period::Quarter(2016, 3)), absl::CivilDay(2016, 7, 1));
  EXPECT_EQ(LastDayOf(Period::Quarter(2016, 3)), absl::CivilDay(2016, 9, 30));
  EXPECT_EQ(LastDayOf(Period::Quarter(2016, 4)), absl::CivilDay(2016, 12, 31));
  EXPECT_EQ(LastDayOf(Period::Month(2016, 2)), absl::CivilDay(2016, 2, 29));
  EXPECT_EQ(LastDayOf(Period::Month(2015, 2)), absl::CivilDay(2015, 2, 28));
  EXPECT_EQ(LastDayOf(Period::Month(1900, 2)), absl::CivilDay(1900, 2, 28));
  EXPECT_EQ(LastDayOf(Period::Month(2000, 2)), absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(LastDayOf(Period::Month(2016, 12)), absl::CivilDay(2016, 12, 31));
}

TEST(PeriodTest, StartsAfter) {
  const absl::CivilDay today(2016, 7, 15);
  EXPECT_FALSE(StartsAfter(Period::Month(2016, 7), today));
  EXPECT_TRUE(StartsAfter(Period::Month(2016, 8), today));
  EXPECT_FALSE(StartsAfter(Period::Month(2016, 6), today));
  EXPECT_FALSE(StartsAfter(Period::Quarter(2016, 3), today));
  EXPECT_TRUE(StartsAfter(Period::Quarter(2016, 4), today));
  EXPECT_FALSE(StartsAfter(Period::Year(2016), today));
  EXPECT_TRUE(StartsAfter(Period::Year(2017), today));
  EXPECT_FALSE(StartsAfter(Period::Year(2015), today));
  // The first day itself has started.
  EXPECT_FALSE(StartsAfter(Period::Quarter(2016, 3), absl::CivilDay(2016, 7, 1)));
  EXPECT_TRUE(StartsAfter(Period::Quarter(2016, 3), absl::CivilDay(2016, 6, 30)));
  EXPECT_TRUE(StartsAfter(Period::Year(2017), absl::CivilDay(2016, 12, 31)));
  EXPECT_FALSE(StartsAfter(Period::Year(2017), absl::CivilDay(2017, 1, 1)));
}

}  // namespace
}  // namespace refdata
}  // namespace iplus
