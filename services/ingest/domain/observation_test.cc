#include "services/ingest/domain/observation.h"

#include <limits>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::ingest {
namespace {

using ::iplus::test::IsOk;

TEST(ObservationTest, CanonicalNumbersRoundTrip) {
  EXPECT_EQ(CanonicalNumber(12.5), "12.5");
  EXPECT_EQ(CanonicalNumber(0.1), "0.1");
  EXPECT_EQ(CanonicalNumber(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(CanonicalNumber(1e-7), "1e-07");
  EXPECT_EQ(CanonicalNumber(65.1), "65.1");
  for (double v : {0.1 + 0.2, 123456789.123456789, 5e-324, 1.7976931348623157e308}) {
    EXPECT_EQ(std::strtod(CanonicalNumber(v).c_str(), nullptr), v);
  }
}

TEST(ObservationTest, ReportIds) {
  EXPECT_TRUE(ValidReportId("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(ValidReportId("file.csv_17"));
  EXPECT_FALSE(ValidReportId(""));
  EXPECT_FALSE(ValidReportId(std::string(65, 'a')));
  for (const char* bad : {"a,b", "a;b", "a|b", "a:b", "a b"})
    EXPECT_FALSE(ValidReportId(bad)) << bad;
}

TEST(ObservationTest, SeriesRoundTrip) {
  SeriesEntry a{2015, 100.25, 1, 3, 1700000000, "r-1", {}};
  SeriesEntry b{2016,
                0.1,
                2,
                1,
                1700003600,
                "r.2",
                {Flag{OutlierKind::kOwnHistory, 65.4265, 3.5},
                 Flag{OutlierKind::kHardRange, std::numeric_limits<double>::infinity(), 0}}};
  std::string text = EncodeSeries({a, b});
  auto back = DecodeSeries(text);
  ASSERT_THAT(back, IsOk());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].value, 100.25);
  EXPECT_EQ((*back)[0].report_id, "r-1");
  EXPECT_EQ((*back)[1].time_s, 1700003600);
  EXPECT_EQ((*back)[1].flags, b.flags);
  EXPECT_EQ(EncodeSeries(*back), text);
  EXPECT_FALSE(DecodeSeries("2015,x,1,1,1,r").ok());
  EXPECT_TRUE(DecodeSeries("")->empty());
}

TEST(ObservationTest, UuidReportIdsAreStoredCompactly) {
  SeriesEntry e{8073, 1.5, 1, 1, 1700000000, "8f14e45f-ceea-467f-a9f8-9c3a7d0c2b91", {}};
  std::string text = EncodeEntry(e);
  EXPECT_EQ(text.find("8f14e45f"), std::string::npos) << text;
  EXPECT_LT(text.size(), 45u) << text;
  auto back = DecodeEntry(text);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->report_id, e.report_id);
  EXPECT_EQ(back->ordinal, 8073);
  // Upper-case UUIDs and other ids are kept verbatim, so they come back exactly.
  for (const char* id : {"8F14E45F-CEEA-467F-A9F8-9C3A7D0C2B91", "row-17", "abc"}) {
    e.report_id = id;
    EXPECT_EQ(DecodeEntry(EncodeEntry(e))->report_id, id);
  }
}

TEST(ObservationTest, HashesAreStable) {
  EXPECT_EQ(Hash64(""), 1469598103934665603ull);
  EXPECT_EQ(Hash64Bytes("abc").size(), 8u);
  EXPECT_NE(Hash64Bytes("abc"), Hash64Bytes("abd"));
}

}  // namespace
}  // namespace iplus::ingest
