#include "bench/datagen/datagen.h"

#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/industry.h"
#include "common/refdata/region.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::datagen {
namespace {

namespace cv1 = ::iplus::common::v1;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;

Generator Make(int64_t n, uint64_t seed = 1) {
  Options o;
  o.seed = seed;
  o.enterprises = n;
  return Generator(o);
}

// The whole data set of a generator as CSV text.
std::string Csv(const Generator& gen) {
  std::string out;
  std::vector<Observation> os;
  for (int64_t i = 0; i < gen.size(); ++i) {
    Enterprise e = gen.EnterpriseAt(i);
    out += EnterpriseCsvLine(e);
    os.clear();
    gen.AppendObservations(e, &os);
    for (const auto& o : os) out += ObservationCsvLine(o);
  }
  return out;
}

int ProvinceIndex(const std::string& code2) {
  const auto& p = Provinces();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].code.substr(0, 2) == code2) return static_cast<int>(i);
  }
  return -1;
}

TEST(OptionsTest, EnterprisesMustBeInRange) {
  Options o;
  o.enterprises = 0;
  EXPECT_EQ(ValidateOptions(o).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValidateOptions(o).message(), HasSubstr("enterprises"));
  o.enterprises = kMaxEnterprises + 1;
  EXPECT_EQ(ValidateOptions(o).code(), absl::StatusCode::kInvalidArgument);
  o.enterprises = 1;
  EXPECT_TRUE(ValidateOptions(o).ok());
}

TEST(GeneratorTest, SameSeedSameDataOtherSeedOtherData) {
  const std::string a = Csv(Make(2000, 7));
  EXPECT_EQ(a, Csv(Make(2000, 7)));
  EXPECT_NE(a, Csv(Make(2000, 8)));
  // Enterprise i does not depend on the size of the data set or on the order of calls.
  Generator small = Make(100, 7), large = Make(5000, 7);
  for (int64_t i : {99, 3, 50, 0}) {
    EXPECT_EQ(EnterpriseCsvLine(small.EnterpriseAt(i)), EnterpriseCsvLine(large.EnterpriseAt(i)));
  }
}

TEST(GeneratorTest, CodesRegionsAndIndustriesAreValidAndCodesUnique) {
  Generator gen = Make(30000);
  absl::flat_hash_set<std::string> codes;
  std::set<std::string> divisions, provinces, prefectures;
  for (int64_t i = 0; i < gen.size(); ++i) {
    Enterprise e = gen.EnterpriseAt(i);
    ASSERT_TRUE(refdata::ValidateCreditCode(e.code).ok()) << e.code << " " << i;
    ASSERT_TRUE(codes.insert(e.code).second) << "duplicate " << e.code;
    EXPECT_EQ(refdata::RegionOfCreditCode(e.code), e.region);
    ASSERT_TRUE(refdata::ValidateRegionCode(e.region).ok()) << e.region;
    EXPECT_NE(refdata::LevelOf(e.region), refdata::RegionLevel::kProvince) << e.region;
    EXPECT_EQ(refdata::ProvinceOf(e.region), Provinces()[e.province].code);
    ASSERT_TRUE(refdata::ValidateIndustryCode(e.industry).ok()) << e.industry;
    EXPECT_EQ(refdata::IsManufacturing(e.industry), e.manufacturer()) << e.industry;
    EXPECT_FALSE(e.name.empty());
    EXPECT_LE(e.name.size(), 300u);
    EXPECT_NE(e.kind, cv1::ORGANIZATION_KIND_UNSPECIFIED);
    EXPECT_NE(e.ownership, cv1::OWNERSHIP_UNSPECIFIED);
    EXPECT_NE(e.size, cv1::ENTERPRISE_SIZE_UNSPECIFIED);
    if (e.manufacturer()) divisions.insert(e.industry);
    provinces.insert(refdata::ProvinceOf(e.region));
    prefectures.insert(refdata::PrefectureOf(e.region));
  }
  EXPECT_EQ(divisions.size(), 31u);  // C13-C43, every one
  EXPECT_EQ(provinces.size(), 31u);  // the mainland
  EXPECT_EQ(provinces.count("710000") + provinces.count("810000") + provinces.count("820000"), 0u);
  EXPECT_GT(prefectures.size(), 300u);
  EXPECT_EQ(prefectures.count("440300"), 1u);  // Shenzhen
  EXPECT_EQ(prefectures.count("110100"), 1u);  // Beijing
}

TEST(GeneratorTest, MixesAreWithinTolerance) {
  constexpr int64_t kN = 100000;
  Generator gen = Make(kN, 3);
  std::map<int, int64_t> kinds, ownership, sizes;
  std::map<int, int64_t> by_province;
  int64_t manufacturers = 0, key = 0, key_large = 0, large = 0;
  for (int64_t i = 0; i < kN; ++i) {
    Enterprise e = gen.EnterpriseAt(i);
    ++kinds[e.kind];
    ++by_province[e.province];
    key += e.key;
    if (!e.manufacturer()) continue;
    ++manufacturers;
    ++ownership[e.ownership];
    ++sizes[e.size];
    if (e.size == cv1::ENTERPRISE_SIZE_LARGE) {
      ++large;
      key_large += e.key;
    }
  }
  auto share = [](int64_t part, int64_t whole) {
    return static_cast<double>(part) / static_cast<double>(whole);
  };
  EXPECT_THAT(share(manufacturers, kN), AllOf(Ge(0.93), Le(0.95)));
  for (int k = 2; k <= 7; ++k) EXPECT_GT(kinds[k], 100) << "kind " << k;
  EXPECT_THAT(share(ownership[cv1::OWNERSHIP_PRIVATE], manufacturers), AllOf(Ge(0.64), Le(0.72)));
  for (int o = 1; o <= 7; ++o) EXPECT_GT(ownership[o], 300) << "ownership " << o;
  EXPECT_THAT(share(sizes[cv1::ENTERPRISE_SIZE_LARGE], manufacturers), AllOf(Ge(0.03), Le(0.05)));
  EXPECT_THAT(share(sizes[cv1::ENTERPRISE_SIZE_MEDIUM], manufacturers), AllOf(Ge(0.11), Le(0.15)));
  EXPECT_THAT(share(sizes[cv1::ENTERPRISE_SIZE_SMALL], manufacturers), AllOf(Ge(0.52), Le(0.57)));
  EXPECT_THAT(share(sizes[cv1::ENTERPRISE_SIZE_MICRO], manufacturers), AllOf(Ge(0.27), Le(0.31)));
  EXPECT_THAT(share(key, kN), AllOf(Ge(0.04), Le(0.07)));
  EXPECT_GT(share(key_large, large), 0.5);  // key enterprises are mostly the large ones
  // Provinces in proportion to their weights.
  double total_weight = 0;
  for (const auto& p : Provinces()) total_weight += p.weight;
  for (int p = 0; p < static_cast<int>(Provinces().size()); ++p) {
    const double expected = Provinces()[p].weight / total_weight;
    EXPECT_NEAR(share(by_province[p], kN), expected, 0.1 * expected + 0.001) << Provinces()[p].name;
  }
  EXPECT_GT(by_province[ProvinceIndex("32")], by_province[ProvinceIndex("62")] * 10);
}

TEST(GeneratorTest, ObservationsAreValidAndReportIdsUnique) {
  Generator gen = Make(20000, 5);
  absl::flat_hash_set<std::string> ids;
  std::set<std::tuple<std::string, int, int>> keys;
  std::vector<Observation> os;
  int64_t non_manufacturer_numbers = 0, non_manufacturer_reports = 0;
  for (int64_t i = 0; i < gen.size(); ++i) {
    Enterprise e = gen.EnterpriseAt(i);
    os.clear();
    gen.AppendObservations(e, &os);
    for (const auto& o : os) {
      EXPECT_EQ(o.enterprise_code, e.code);
      ASSERT_TRUE(ids.insert(o.report_id).second) << o.report_id;
      ASSERT_TRUE(keys.emplace(e.code, o.indicator, o.year).second) << o.report_id;
      ASSERT_LE(o.report_id.size(), 64u);
      for (char c : o.report_id) {
        ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == ':' || c == '-')
            << o.report_id;
      }
      EXPECT_GE(o.year, kFirstYear);
      EXPECT_LE(o.year, kLastYear);
      EXPECT_EQ(o.period(), absl::StrCat(o.year));
      if (!e.manufacturer()) {
        ++non_manufacturer_reports;
        non_manufacturer_numbers += !o.boolean();
      }
      const double v = o.number_value;
      switch (o.indicator) {
        case kEnergyUtilization:  // valid [0, 100], plausible [10, 99]
          EXPECT_TRUE(v >= 10 && v <= 99) << v;
          break;
        case kInventoryTurnover:  // valid > 0, plausible [0.1, 100]
          EXPECT_TRUE(v >= 0.1 && v <= 100) << v;
          break;
        case kDevCycle:  // valid > 0, plausible [1, 3650]
          EXPECT_TRUE(v >= 1 && v <= 3650) << v;
          break;
        default:
          EXPECT_TRUE(o.boolean());
      }
    }
  }
  EXPECT_EQ(non_manufacturer_numbers, 0);
  EXPECT_GT(non_manufacturer_reports, 0);
}

TEST(CsvTest, HeadersAndQuotedNames) {
  EXPECT_EQ(EnterprisesCsvHeader(), "code,name,region,industry,kind,ownership,size,key\n");
  EXPECT_EQ(ObservationsCsvHeader(), "report_id,enterprise_code,indicator,period,value\n");
  Enterprise e;
  e.code = "91350100M000100Y43";
  e.name = "Fujian \"Minjiang\" Textile Co., Ltd.";
  e.region = "350102";
  e.industry = "C17";
  e.kind = cv1::ORGANIZATION_KIND_MANUFACTURER;
  e.ownership = cv1::OWNERSHIP_PRIVATE;
  e.size = cv1::ENTERPRISE_SIZE_SMALL;
  e.key = true;
  EXPECT_EQ(EnterpriseCsvLine(e),
            "91350100M000100Y43,\"Fujian \"\"Minjiang\"\" Textile Co., Ltd.\",350102,C17,"
            "ORGANIZATION_KIND_MANUFACTURER,OWNERSHIP_PRIVATE,ENTERPRISE_SIZE_SMALL,true\n");
  Observation o;
  o.report_id = "dg-x";
  o.enterprise_code = e.code;
  o.indicator = kInventoryTurnover;
  o.year = 2016;
  o.number_value = 6.1;
  EXPECT_EQ(ObservationCsvLine(o), "dg-x,91350100M000100Y43,inventory_turnover,2016,6.1\n");
  o.indicator = kIndustryCloud;
  o.bool_value = true;
  EXPECT_EQ(ObservationCsvLine(o), "dg-x,91350100M000100Y43,industry_cloud,2016,true\n");
  // Generated rows have the header's number of fields.
  Generator gen = Make(300);
  for (int64_t i = 0; i < gen.size(); ++i) {
    std::vector<Observation> os;
    gen.AppendObservations(gen.EnterpriseAt(i), &os);
    for (const auto& ob : os) {
      EXPECT_EQ(std::vector<std::string>(absl::StrSplit(ObservationCsvLine(ob), ',')).size(), 5u);
    }
  }
}

// The trends do what the data set promises: coverage grows with reporters joining and a
// few leaving; nationally three targets are met, inventory turnover is off track and the
// platform share is at risk; provinces differ.
class TrendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { data_ = new ReferenceData(BuildReference(Make(200000, 11), 2)); }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static const TargetSpec& Target(const std::string& id) {
    for (const auto& t : Targets()) {
      if (id == t.id) return t;
    }
    ADD_FAILURE() << id;
    return Targets()[0];
  }
  static ReferenceData* data_;
};
ReferenceData* TrendTest::data_ = nullptr;

TEST_F(TrendTest, CoverageGrowsWithReportersJoiningAndLeaving) {
  const auto& dev = data_->values[kDevCycle];
  int64_t manufacturers = 0, joined_later = 0, left = 0;
  int64_t reporters[kYears] = {};
  for (int64_t i = 0; i < data_->enterprises; ++i) {
    if (!data_->manufacturer[i]) continue;
    ++manufacturers;
    for (int y = 0; y < kYears; ++y) reporters[y] += !std::isnan(dev[y][i]);
    if (std::isnan(dev[0][i]) && !std::isnan(dev[3][i])) ++joined_later;
    if (!std::isnan(dev[0][i]) && std::isnan(dev[3][i])) ++left;
  }
  const double c2015 = static_cast<double>(reporters[0]) / static_cast<double>(manufacturers);
  const double c2018 = static_cast<double>(reporters[3]) / static_cast<double>(manufacturers);
  EXPECT_THAT(c2015, AllOf(Ge(0.4), Le(0.55)));
  EXPECT_THAT(c2018, AllOf(Ge(0.6), Le(0.8)));
  for (int y = 1; y < kYears; ++y) EXPECT_GT(reporters[y], reporters[y - 1]) << y;
  EXPECT_GT(joined_later, manufacturers / 10);
  EXPECT_GT(left, manufacturers / 100);
  int64_t total = 0;
  for (const auto& by_year : data_->observations) {
    for (int64_t n : by_year) total += n;
  }
  EXPECT_EQ(total, data_->total_observations);
  EXPECT_GT(total, data_->enterprises * 8);
}

TEST_F(TrendTest, NationalStatusesAreAsDesigned) {
  const std::map<std::string, Status> expected = {
      {"dev-cycle", Status::kAchieved},
      {"energy-utilization", Status::kAchieved},
      {"industry-cloud-adoption", Status::kAchieved},
      {"inventory-turnover", Status::kOffTrack},
      {"platform-coverage", Status::kAtRisk},
  };
  for (const auto& t : Targets()) {
    TargetResult r = EvaluateReference(*data_, t, kLastYear, -1);
    ASSERT_TRUE(r.baseline && r.current && r.progress) << t.id;
    EXPECT_EQ(StatusName(r.status), StatusName(expected.at(t.id)))
        << t.id << ": baseline " << *r.baseline << " current " << *r.current << " target "
        << *r.target << " progress " << *r.progress;
    // Every improvement goes the indicator's right way, also in 2017.
    TargetResult r2017 = EvaluateReference(*data_, t, 2017, -1);
    if (t.indicator == kDevCycle) {
      EXPECT_LT(*r.current, *r.baseline) << t.id;
    } else {
      EXPECT_GT(*r.current, *r.baseline) << t.id;
    }
    EXPECT_GT(*r.progress, *r2017.progress) << t.id;
    EXPECT_GT(*r2017.progress, 0) << t.id;
    EXPECT_GT(r.population, 0);
    EXPECT_GT(r.current_reporters, r.baseline_reporters) << t.id;
  }
  // The matched panel is what the mean targets compare.
  TargetResult dev = EvaluateReference(*data_, Target("dev-cycle"), kLastYear, -1);
  EXPECT_GT(dev.panel, 0);
  EXPECT_LT(dev.panel, dev.current_reporters);
  EXPECT_NEAR(*dev.current / *dev.baseline, 0.86, 0.02);
  TargetResult inv = EvaluateReference(*data_, Target("inventory-turnover"), kLastYear, -1);
  EXPECT_NEAR(*inv.current / *inv.baseline, 1.12, 0.02);
  TargetResult energy = EvaluateReference(*data_, Target("energy-utilization"), kLastYear, -1);
  EXPECT_NEAR(*energy.current / *energy.baseline, 1.06, 0.01);
}

TEST_F(TrendTest, ProvincesDiffer) {
  const int zhejiang = ProvinceIndex("33"), gansu = ProvinceIndex("62");
  for (const auto& t : Targets()) {
    std::map<Status, int> statuses;
    for (int p = 0; p < static_cast<int>(Provinces().size()); ++p) {
      ++statuses[EvaluateReference(*data_, t, kLastYear, p).status];
    }
    std::string summary;
    for (const auto& [s, n] : statuses) absl::StrAppend(&summary, StatusName(s), "=", n, " ");
    // A league table with more than one status, and the leader ahead of the laggard.
    EXPECT_GE(statuses.size(), 2u) << t.id << ": " << summary;
    TargetResult lead = EvaluateReference(*data_, t, kLastYear, zhejiang);
    TargetResult lag = EvaluateReference(*data_, t, kLastYear, gansu);
    ASSERT_TRUE(lead.progress && lag.progress) << t.id;
    EXPECT_GT(*lead.progress, *lag.progress + 0.3) << t.id;
    if (t.id != std::string("inventory-turnover")) {
      EXPECT_GT(statuses[Status::kAchieved], 0) << t.id << ": " << summary;
      EXPECT_GT(statuses[Status::kOffTrack] + statuses[Status::kAtRisk], 0)
          << t.id << ": " << summary;
    }
  }
  // Inventory turnover is off track nationally, but some provinces are at least at risk.
  std::map<Status, int> inv;
  for (int p = 0; p < static_cast<int>(Provinces().size()); ++p) {
    ++inv[EvaluateReference(*data_, Target("inventory-turnover"), kLastYear, p).status];
  }
  EXPECT_GT(inv[Status::kAchieved] + inv[Status::kOnTrack] + inv[Status::kAtRisk], 0);
  // Where few report, the coverage floor leaves the result undecided.
  EXPECT_EQ(EvaluateReference(*data_, Target("dev-cycle"), kLastYear, ProvinceIndex("54")).status,
            Status::kInsufficientData);
}

}  // namespace
}  // namespace iplus::datagen
