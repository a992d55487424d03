#include "bench/datagen/datagen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hash/fnv.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/region.h"
#include "common/status/status.h"

namespace iplus::datagen {
namespace {

namespace cv1 = ::iplus::common::v1;

// ---------------------------------------------------------------------------------------
// Random numbers: every quantity is a hash of (seed, enterprise index, purpose, a, b), so
// nothing depends on the order in which enterprises or quantities are produced.

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum Purpose : uint64_t {
  kProvince = 1,
  kPrefecture,
  kCounty,
  kKind,
  kIndustry,
  kOwnership,
  kSize,
  kKey,
  kCodeScheme,
  kName1,
  kName2,
  kName3,
  kReports,
  kJoin,
  kLeave,
  kLeaveYear,
  kGap,
  kParticipates,
  kPaceNoise,
  kBase,
  kYearNoise,
  kAdopt,
};

class Draws {
 public:
  Draws(uint64_t seed, int64_t index)
      : key_(Mix(Mix(seed ^ 0x6461746167656eULL) ^ static_cast<uint64_t>(index))) {}

  // Uniform in [0, 1).
  double U(Purpose p, uint64_t a = 0, uint64_t b = 0) const {
    uint64_t h = Mix(key_ ^ Mix(p * 0x100000001b3ULL ^ Mix(a * 0x9e3779b97f4a7c15ULL + b)));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
  }
  // Standard normal (Box-Muller).
  double N(Purpose p, uint64_t a = 0, uint64_t b = 0) const {
    double u1 = 1.0 - U(p, a, 2 * b);  // (0, 1]
    double u2 = U(p, a, 2 * b + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // An index drawn with the given weights.
  template <typename W>
  size_t Pick(Purpose p, const W& weights, uint64_t a = 0) const {
    double total = 0;
    for (double w : weights) total += w;
    double x = U(p, a) * total;
    size_t i = 0;
    for (double w : weights) {
      if (x < w) return i;
      x -= w;
      ++i;
    }
    return static_cast<size_t>(std::size(weights) - 1);
  }

 private:
  uint64_t key_;
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---------------------------------------------------------------------------------------
// Parameters.

struct ProvinceSpec {
  const char* code2;
  double weight;    // thousands of manufacturers above designated size, about 2016
  double pace;      // before normalisation
  double coverage;  // relative propensity to report
  std::vector<int> prefectures;
};

std::vector<int> Range(int first, int last) {
  std::vector<int> v;
  for (int i = first; i <= last; ++i) v.push_back(i);
  return v;
}
std::vector<int> Join(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<ProvinceSpec>& ProvinceSpecs() {
  static const auto* specs = new std::vector<ProvinceSpec>{
      {"11", 3.6, 1.6, 1.0, {1}},
      {"12", 5.0, 1.3, 1.0, {1}},
      {"13", 15.0, 0.75, 0.95, Range(1, 11)},
      {"14", 3.8, 0.5, 0.85, Range(1, 11)},
      {"15", 3.0, 0.45, 0.8, Join(Range(1, 9), {22, 25, 29})},
      {"21", 8.0, 0.6, 0.9, Range(1, 14)},
      {"22", 5.5, 0.5, 0.85, Join(Range(1, 8), {24})},
      {"23", 4.0, 0.45, 0.8, Join(Range(1, 12), {27})},
      {"31", 8.5, 1.8, 1.05, {1}},
      {"32", 48.0, 1.7, 1.05, Range(1, 13)},
      {"33", 40.0, 1.9, 1.05, Range(1, 11)},
      {"34", 19.0, 1.1, 1.0, Join(Range(1, 8), {10, 11, 12, 13, 15, 16, 17, 18})},
      {"35", 17.0, 1.3, 1.0, Range(1, 9)},
      {"36", 11.0, 0.8, 0.95, Range(1, 11)},
      {"37", 38.0, 1.2, 1.0, Range(1, 17)},
      {"41", 23.0, 0.9, 0.95, Range(1, 17)},
      {"42", 15.0, 1.0, 0.95, Join({1, 2, 3}, Join(Range(5, 13), {28}))},
      {"43", 14.0, 0.9, 0.95, Join(Range(1, 13), {31})},
      {"44", 41.0, 1.85, 1.05, Join(Range(1, 9), Join(Range(12, 20), {51, 52, 53}))},
      {"45", 5.5, 0.6, 0.85, Range(1, 14)},
      {"46", 0.4, 0.6, 0.8, {1, 2, 4}},
      {"50", 6.8, 1.0, 0.95, {1, 2}},
      {"51", 13.0, 0.95, 0.9, Join({1}, Join(Range(3, 11), Join(Range(13, 20), {32, 33, 34})))},
      {"52", 5.0, 0.85, 0.85, Join(Range(1, 6), {23, 26, 27})},
      {"53", 4.0, 0.55, 0.8, Join({1}, Join(Range(3, 9), {23, 25, 26, 28, 29, 31, 33, 34}))},
      {"54", 0.12, 0.3, 0.45, Join(Range(1, 6), {25})},
      {"61", 6.0, 0.8, 0.9, Range(1, 10)},
      {"62", 2.0, 0.4, 0.7, Join(Range(1, 12), {29, 30})},
      {"63", 0.6, 0.35, 0.55, {1, 2, 22, 23, 25, 26, 27, 28}},
      {"64", 1.2, 0.45, 0.7, Range(1, 5)},
      {"65", 2.6, 0.4, 0.7, {1, 2, 4, 5, 23, 27, 28, 29, 30, 31, 40, 42, 43}},
  };
  return *specs;
}

// Prefectures with a large manufacturing base (Shenzhen, Foshan, Dongguan, Suzhou, Wuxi,
// Ningbo, Shaoxing, Qingdao, Xiamen, Chongqing's districts).
bool BigPrefecture(const std::string& pp, int cc) {
  static const char* const kBig[] = {"4403", "4406", "4419", "3205", "3202",
                                     "3302", "3306", "3702", "3502", "5001"};
  std::string code = absl::StrFormat("%s%02d", pp, cc);
  for (const char* b : kBig) {
    if (code == b) return true;
  }
  return false;
}

struct DivisionSpec {
  const char* code;
  const char* noun;  // in enterprise names
  double weight;     // share of manufacturers
  double dev_days;   // typical product development cycle
  double turnover;   // typical inventory turnover, times a year
  double energy;     // typical energy utilisation rate, %
};

constexpr DivisionSpec kDivisions[] = {
    {"C13", "Agricultural Products", 6.5, 90, 9.0, 52},
    {"C14", "Foods", 2.5, 100, 8.0, 55},
    {"C15", "Beverage", 1.8, 120, 6.0, 55},
    {"C16", "Tobacco", 0.05, 240, 3.0, 60},
    {"C17", "Textile", 5.5, 70, 6.5, 48},
    {"C18", "Garment", 4.0, 55, 5.5, 58},
    {"C19", "Leather and Shoes", 2.3, 60, 6.0, 58},
    {"C20", "Wood Products", 2.5, 80, 8.0, 50},
    {"C21", "Furniture", 1.6, 90, 6.5, 56},
    {"C22", "Paper", 1.9, 110, 7.0, 45},
    {"C23", "Printing", 1.5, 45, 9.0, 60},
    {"C24", "Sporting Goods", 2.4, 75, 6.5, 58},
    {"C25", "Petrochemical", 0.5, 300, 12.0, 40},
    {"C26", "Chemical", 6.5, 260, 8.5, 42},
    {"C27", "Pharmaceutical", 2.0, 720, 4.0, 50},
    {"C28", "Chemical Fibre", 0.5, 200, 9.0, 45},
    {"C29", "Plastics", 4.5, 95, 7.0, 52},
    {"C30", "Building Materials", 9.5, 120, 8.5, 36},
    {"C31", "Iron and Steel", 1.6, 280, 10.0, 34},
    {"C32", "Nonferrous Metals", 2.0, 250, 9.5, 38},
    {"C33", "Metal Products", 5.5, 100, 6.5, 50},
    {"C34", "Machinery", 6.5, 210, 4.5, 55},
    {"C35", "Special Equipment", 4.8, 270, 4.0, 55},
    {"C36", "Automotive", 4.0, 480, 9.0, 57},
    {"C37", "Transport Equipment", 1.2, 420, 4.0, 55},
    {"C38", "Electric", 6.5, 180, 6.0, 58},
    {"C39", "Electronics", 4.8, 120, 8.0, 60},
    {"C40", "Instruments", 1.2, 220, 4.0, 60},
    {"C41", "Manufacturing", 0.5, 90, 6.0, 55},
    {"C42", "Recycling", 0.6, 60, 10.0, 45},
    {"C43", "Equipment Repair", 0.3, 40, 8.0, 55},
};
constexpr int kDivisionCount = static_cast<int>(std::size(kDivisions));
static_assert(kDivisionCount == 31, "C13-C43");

struct KindSpec {
  cv1::OrganizationKind kind;
  double weight;
};
constexpr KindSpec kKinds[] = {
    {cv1::ORGANIZATION_KIND_MANUFACTURER, 0.940},
    {cv1::ORGANIZATION_KIND_INTERNET_SERVICE_PROVIDER, 0.015},
    {cv1::ORGANIZATION_KIND_TELECOM_OPERATOR, 0.002},
    {cv1::ORGANIZATION_KIND_UNIVERSITY, 0.004},
    {cv1::ORGANIZATION_KIND_RESEARCH_INSTITUTE, 0.010},
    {cv1::ORGANIZATION_KIND_MAKERSPACE, 0.014},
    {cv1::ORGANIZATION_KIND_PLATFORM_OPERATOR, 0.015},
};

// Ownership weights in enum order (STATE_OWNED .. OTHER).
using OwnershipWeights = std::array<double, 7>;
constexpr OwnershipWeights kManufacturerOwnership = {0.04, 0.01, 0.70, 0.12, 0.05, 0.06, 0.02};
constexpr OwnershipWeights kPublicOwnership = {0.90, 0.02, 0.0, 0.0, 0.0, 0.0, 0.08};
constexpr OwnershipWeights kTelecomOwnership = {0.80, 0.0, 0.0, 0.20, 0.0, 0.0, 0.0};
constexpr OwnershipWeights kServiceOwnership = {0.02, 0.0, 0.68, 0.25, 0.0, 0.05, 0.0};

// Size weights in enum order (LARGE .. MICRO).
using SizeWeights = std::array<double, 4>;
constexpr SizeWeights kManufacturerSize = {0.03, 0.12, 0.55, 0.30};
constexpr SizeWeights kStateOwnedSize = {0.12, 0.30, 0.45, 0.13};
constexpr SizeWeights kInstitutionSize = {0.45, 0.45, 0.10, 0.0};
constexpr SizeWeights kServiceSize = {0.05, 0.15, 0.45, 0.35};
constexpr double kKeyBySize[4] = {0.60, 0.15, 0.02, 0.002};

constexpr const char* kSyllables[] = {
    "Hua",   "Xin",  "Heng", "Tai",   "Sheng", "Long", "Da",  "Jin",  "Rui", "Feng",
    "Yuan",  "Kang", "Hong", "Cheng", "Tong",  "Ming", "Bao", "An",   "Fu",  "Jia",
    "Li",    "De",   "Yi",   "Zhong", "Guang", "Tian", "Hai", "Xing", "Wei", "Qiang",
    "Chang", "Sen",  "Yu",   "Lian",  "Ding",  "Kai",  "Run", "Shun", "Tuo", "Zhi"};
constexpr int kSyllableCount = static_cast<int>(std::size(kSyllables));

// National change from 2015 to 2018 at pace 1 (number indicators).
constexpr double kDevCycleChange = -0.14;
constexpr double kTurnoverChange = 0.10;
constexpr double kEnergyChange = 0.06;

// Boolean indicators: logit of the 2015 share and its change to 2018 at pace 1.
constexpr double kPlatformKeyLogit0 = -0.45;   // key manufacturers, about 0.39
constexpr double kPlatformOtherLogit0 = -2.0;  // other manufacturers
constexpr double kPlatformLogitChange = 1.35;  // key share to about 0.69 by 2018
constexpr double kCloudLogit0 = -1.95;         // about 0.13
constexpr double kCloudLogitChange = 1.0;      // about 0.29 by 2018

const std::array<IndicatorInfo, kIndicators> kIndicatorInfo = {{
    {"energy_utilization_rate", "eu", false},
    {"industry_cloud", "ic", true},
    {"innovation_platform", "ip", true},
    {"inventory_turnover", "it", false},
    {"product_dev_cycle_days", "dc", false},
}};

// The pace of province p for indicator k: the province's pace, varied per indicator by a
// fixed factor in [0.75, 1.25] (independent of the seed: the same provinces lead on the
// same indicators in every data set).
double IndicatorPace(int p, int k) {
  const double pace = Provinces()[p].pace;
  const double u =
      static_cast<double>(Mix(Fnv1a64(ProvinceSpecs()[p].code2) + 977u * k) >> 11) * 0x1.0p-53;
  return pace * (0.75 + 0.5 * u);
}

std::string ShortestDouble(double v) {
  // Fast path: six significant digits, which holds every generated value.
  std::string s = absl::StrCat(v);
  if (std::strtod(s.c_str(), nullptr) == v) return s;
  for (int precision = 7; precision <= 17; ++precision) {
    s = absl::StrFormat("%.*g", precision, v);
    if (std::strtod(s.c_str(), nullptr) == v) return s;
  }
  return s;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Weights that do not change between enterprises, computed once.
struct Tables {
  std::vector<double> province_weights;
  std::vector<std::vector<double>> prefecture_weights;  // by province
  std::vector<double> kind_weights;
  std::vector<double> division_weights;
};

const Tables& GetTables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    for (const auto& ps : ProvinceSpecs()) {
      t->province_weights.push_back(ps.weight);
      std::vector<double> w;
      for (size_t j = 0; j < ps.prefectures.size(); ++j) {
        double x = 1.0 / (1.0 + 0.15 * static_cast<double>(j));  // earlier codes: larger cities
        if (j == 0) x *= 2;                                      // the capital
        if (BigPrefecture(ps.code2, ps.prefectures[j])) x *= 2.5;
        w.push_back(x);
      }
      t->prefecture_weights.push_back(std::move(w));
    }
    for (const auto& k : kKinds) t->kind_weights.push_back(k.weight);
    for (const auto& dv : kDivisions) t->division_weights.push_back(dv.weight);
    return t;
  }();
  return *tables;
}

}  // namespace

const std::array<IndicatorInfo, kIndicators>& Indicators() { return kIndicatorInfo; }

const std::vector<ProvinceInfo>& Provinces() {
  static const auto* provinces = [] {
    auto* out = new std::vector<ProvinceInfo>();
    double weighted = 0, total = 0;
    for (const auto& s : ProvinceSpecs()) {
      weighted += s.weight * s.pace;
      total += s.weight;
    }
    for (const auto& s : ProvinceSpecs()) {
      std::string code = absl::StrCat(s.code2, "0000");
      out->push_back(ProvinceInfo{code, refdata::ProvinceName(code).value_or(code), s.weight,
                                  s.pace * total / weighted});
    }
    return out;
  }();
  return *provinces;
}

absl::Status ValidateOptions(const Options& options) {
  if (options.enterprises < 1 || options.enterprises > kMaxEnterprises) {
    return InvalidField("enterprises", absl::StrCat("must be between 1 and ", kMaxEnterprises,
                                                    ", got ", options.enterprises));
  }
  return absl::OkStatus();
}

std::string Observation::period() const { return absl::StrCat(year); }

Generator::Generator(Options options) : options_(options) {}

Enterprise Generator::EnterpriseAt(int64_t index) const {
  const Draws d(options_.seed, index);
  const auto& specs = ProvinceSpecs();
  Enterprise e;
  e.index = index;

  // Where.
  const Tables& tables = GetTables();
  e.province = static_cast<int>(d.Pick(kProvince, tables.province_weights));
  const ProvinceSpec& ps = specs[e.province];
  const int cc = ps.prefectures[d.Pick(kPrefecture, tables.prefecture_weights[e.province])];
  int county = 0;  // registered at the prefecture itself
  if (d.U(kCounty) >= 0.08) county = 2 + static_cast<int>(std::pow(d.U(kCounty, 1), 1.3) * 14);
  e.region =
      absl::StrCat(ps.code2, absl::Dec(cc, absl::kZeroPad2), absl::Dec(county, absl::kZeroPad2));

  // What.
  e.kind = kKinds[d.Pick(kKind, tables.kind_weights)].kind;
  int division = -1;
  const OwnershipWeights* ownership = &kServiceOwnership;
  const SizeWeights* size = &kServiceSize;
  double key_probability = 0.02;
  switch (e.kind) {
    case cv1::ORGANIZATION_KIND_MANUFACTURER: {
      division = static_cast<int>(d.Pick(kIndustry, tables.division_weights));
      e.industry = kDivisions[division].code;
      ownership = &kManufacturerOwnership;
      size = &kManufacturerSize;
      break;
    }
    case cv1::ORGANIZATION_KIND_INTERNET_SERVICE_PROVIDER:
      e.industry = "I64";
      break;
    case cv1::ORGANIZATION_KIND_TELECOM_OPERATOR:
      e.industry = "I63";
      ownership = &kTelecomOwnership;
      size = &kInstitutionSize;
      key_probability = 0.5;
      break;
    case cv1::ORGANIZATION_KIND_UNIVERSITY:
      e.industry = "P83";
      ownership = &kPublicOwnership;
      size = &kInstitutionSize;
      key_probability = 0.3;
      break;
    case cv1::ORGANIZATION_KIND_RESEARCH_INSTITUTE:
      e.industry = "M73";
      ownership = &kPublicOwnership;
      size = &kInstitutionSize;
      key_probability = 0.3;
      break;
    case cv1::ORGANIZATION_KIND_MAKERSPACE:
      e.industry = "M75";
      break;
    default:  // platform operator
      e.industry = d.U(kIndustry) < 0.5 ? "I64" : "I65";
      key_probability = 0.1;
      break;
  }
  OwnershipWeights ow = *ownership;
  if (e.kind == cv1::ORGANIZATION_KIND_MANUFACTURER) {
    if (ps.code2 == std::string("44") || ps.code2 == std::string("35")) ow[4] *= 3;  // HMT
    if (ps.code2 == std::string("31") || ps.code2 == std::string("32")) ow[5] *= 2;  // foreign
  }
  e.ownership = static_cast<cv1::Ownership>(1 + d.Pick(kOwnership, ow));
  const SizeWeights& sw =
      (e.kind == cv1::ORGANIZATION_KIND_MANUFACTURER && e.ownership == cv1::OWNERSHIP_STATE_OWNED)
          ? kStateOwnedSize
          : *size;
  const int size_index = static_cast<int>(d.Pick(kSize, sw));
  e.size = static_cast<cv1::EnterpriseSize>(1 + size_index);
  if (e.kind == cv1::ORGANIZATION_KIND_MANUFACTURER) key_probability = kKeyBySize[size_index];
  e.key = d.U(kKey) < key_probability;

  // The credit code: registration authority and category, the region, an organisation
  // code body unique to the index (an affine bijection of the index onto the scheme's
  // space), then both check characters.
  const char* authority = "91";  // industry and commerce, enterprise
  if (e.kind == cv1::ORGANIZATION_KIND_UNIVERSITY ||
      e.kind == cv1::ORGANIZATION_KIND_RESEARCH_INSTITUTE) {
    authority = "12";  // public institution
  } else if (e.kind == cv1::ORGANIZATION_KIND_MAKERSPACE && d.U(kCodeScheme, 1) < 0.5) {
    authority = "52";  // private non-enterprise unit
  }
  std::string body;
  const uint64_t i = static_cast<uint64_t>(index);
  if (d.U(kCodeScheme) < 0.55) {
    constexpr uint64_t kSpace = 100'000'000;  // eight digits
    const uint64_t salt = Mix(options_.seed) % kSpace;
    body = absl::StrFormat("%08d", (i * 48'271'193ULL + salt) % kSpace);
  } else {
    constexpr uint64_t kSpace = 887'503'681;  // 31^6: "MA" and six characters
    const uint64_t salt = Mix(options_.seed + 1) % kSpace;
    uint64_t x = (i * 2'654'435'761ULL + salt) % kSpace;
    body = "MA";
    std::string tail(6, '0');
    for (int k = 5; k >= 0; --k) {
      tail[k] = refdata::kCreditCodeAlphabet[x % 31];
      x /= 31;
    }
    body += tail;
  }
  e.code = refdata::CompleteCreditCode(absl::StrCat(authority, e.region, body));

  // The name.
  const std::string& place = Provinces()[e.province].name;
  const int first = static_cast<int>(d.U(kName1) * kSyllableCount);
  const int second = (first + 1 + static_cast<int>(d.U(kName2) * (kSyllableCount - 1))) %
                     kSyllableCount;  // never the first again
  std::string trade = absl::StrCat(kSyllables[first], absl::AsciiStrToLower(kSyllables[second]));
  const double n3 = d.U(kName3);
  switch (e.kind) {
    case cv1::ORGANIZATION_KIND_MANUFACTURER: {
      const char* suffix = e.size == cv1::ENTERPRISE_SIZE_LARGE && n3 < 0.6 ? "Group Co., Ltd."
                           : n3 < 0.12                                      ? "Technology Co., Ltd."
                                                                            : "Co., Ltd.";
      e.name = absl::StrCat(place, " ", trade, " ", kDivisions[division].noun, " ", suffix);
      break;
    }
    case cv1::ORGANIZATION_KIND_INTERNET_SERVICE_PROVIDER:
      e.name = absl::StrCat(place, " ", trade, " Network Technology Co., Ltd.");
      break;
    case cv1::ORGANIZATION_KIND_TELECOM_OPERATOR:
      e.name = absl::StrCat(place, " ", trade, " Communications Co., Ltd.");
      break;
    case cv1::ORGANIZATION_KIND_UNIVERSITY:
      e.name = n3 < 0.5 ? absl::StrCat(place, " ", trade, " University of Technology")
                        : absl::StrCat(place, " ", trade, " Vocational and Technical College");
      break;
    case cv1::ORGANIZATION_KIND_RESEARCH_INSTITUTE:
      e.name = absl::StrCat(place, " ", trade, " Institute of Industrial Technology");
      break;
    case cv1::ORGANIZATION_KIND_MAKERSPACE:
      e.name = absl::StrCat(trade, " Makerspace (", place, ")");
      break;
    default:
      e.name = absl::StrCat(trade, " Industrial Internet Platform Co., Ltd.");
      break;
  }
  return e;
}

void Generator::AppendObservations(const Enterprise& e, std::vector<Observation>* out) const {
  const Draws d(options_.seed, e.index);
  auto emit = [&](int k, int year, bool b, double v) {
    Observation o;
    o.enterprise_code = e.code;
    o.indicator = static_cast<Indicator>(k);
    o.year = year;
    o.bool_value = b;
    o.number_value = v;
    const std::string value = o.boolean() ? (b ? "true" : "false") : ShortestDouble(v);
    o.report_id = absl::StrCat("dg-", e.code, "-", kIndicatorInfo[k].abbrev, "-", year, "-",
                               absl::Hex(Fnv1a64(value) & 0xffffff, absl::kZeroPad6));
    out->push_back(std::move(o));
  };

  if (!e.manufacturer()) {
    // Other kinds report the two booleans now and then, from 2016 on.
    if (d.U(kReports) >= 0.4) return;
    for (int year = 2016; year <= kLastYear; ++year) {
      emit(kIndustryCloud, year, d.U(kAdopt, kIndustryCloud) < 0.55, 0);
      emit(kInnovationPlatform, year, d.U(kAdopt, kInnovationPlatform) < 0.35, 0);
    }
    return;
  }

  const ProvinceSpec& ps = ProvinceSpecs()[e.province];
  const double p_report = std::min(0.98, 0.86 * ps.coverage * (e.key ? 1.12 : 1.0));
  if (d.U(kReports) >= p_report) return;
  constexpr double kJoinKey[] = {0.85, 0.08, 0.05, 0.02};
  constexpr double kJoinOther[] = {0.60, 0.18, 0.13, 0.09};
  const int join =
      kFirstYear + static_cast<int>(e.key ? d.Pick(kJoin, kJoinKey) : d.Pick(kJoin, kJoinOther));
  int last = kLastYear;
  if (join <= 2016 && d.U(kLeave) < 0.07) last = join + 1 + (d.U(kLeaveYear) < 0.5 ? 0 : 1);
  bool participates[kIndicators];
  for (int k = 0; k < kIndicators; ++k) {
    participates[k] = d.U(kParticipates, k) < (e.key ? 0.98 : 0.92);
  }

  int division = 0;
  while (division < kDivisionCount - 1 && e.industry != kDivisions[division].code) ++division;
  const DivisionSpec& dv = kDivisions[division];
  const int size_index = static_cast<int>(e.size) - 1;
  constexpr double kDevBySize[4] = {1.3, 1.1, 1.0, 0.85};
  constexpr double kEnergyBySize[4] = {4, 2, 0, -2};
  constexpr double kCloudBySize[4] = {0.6, 0.3, 0, -0.4};
  constexpr double kPlatformBySize[4] = {0.3, 0.1, 0, -0.3};

  // Per indicator: how fast this enterprise moves relative to its province, and where
  // it starts.
  double speed[kIndicators];
  for (int k = 0; k < kIndicators; ++k) {
    const double spread = kIndicatorInfo[k].boolean ? 0.3 : 0.45;
    const double eps = std::clamp(1.0 + spread * d.N(kPaceNoise, k), -0.4, 2.6);
    speed[k] = IndicatorPace(e.province, k) * eps;
  }
  const double dev_base =
      dv.dev_days * kDevBySize[size_index] * std::exp(0.35 * d.N(kBase, kDevCycle));
  const double turnover_base = dv.turnover * std::exp(0.4 * d.N(kBase, kInventoryTurnover));
  const double energy_base = std::clamp(
      dv.energy + kEnergyBySize[size_index] + 7.0 * d.N(kBase, kEnergyUtilization), 15.0, 90.0);
  const double lead = 0.5 * (Provinces()[e.province].pace - 1.0);
  const double platform_logit0 =
      (e.key ? kPlatformKeyLogit0 : kPlatformOtherLogit0) + lead + kPlatformBySize[size_index];
  const double cloud_logit0 = kCloudLogit0 + lead + kCloudBySize[size_index] + (e.key ? 0.3 : 0.0);

  for (int year = join; year <= last; ++year) {
    if (year > join && d.U(kGap, static_cast<uint64_t>(year)) < 0.04) continue;
    const double t = static_cast<double>(year - kFirstYear) / (kLastYear - kFirstYear);
    for (int k = 0; k < kIndicators; ++k) {
      if (!participates[k]) continue;
      const double noise = d.N(kYearNoise, static_cast<uint64_t>(k), static_cast<uint64_t>(year));
      switch (k) {
        case kEnergyUtilization: {
          double v = energy_base * std::exp(std::log1p(kEnergyChange) * speed[k] * t) *
                     std::exp(0.015 * noise);
          emit(k, year, false, std::round(std::clamp(v, 12.0, 97.0) * 10) / 10);
          break;
        }
        case kIndustryCloud:
          emit(k, year, d.U(kAdopt, k) < Sigmoid(cloud_logit0 + kCloudLogitChange * speed[k] * t),
               0);
          break;
        case kInnovationPlatform:
          emit(k, year,
               d.U(kAdopt, k) < Sigmoid(platform_logit0 + kPlatformLogitChange * speed[k] * t), 0);
          break;
        case kInventoryTurnover: {
          double v = turnover_base * std::exp(std::log1p(kTurnoverChange) * speed[k] * t) *
                     std::exp(0.04 * noise);
          emit(k, year, false, std::round(std::clamp(v, 0.2, 95.0) * 100) / 100);
          break;
        }
        case kDevCycle: {
          double v = dev_base * std::exp(std::log1p(kDevCycleChange) * speed[k] * t) *
                     std::exp(0.03 * noise);
          emit(k, year, false, std::round(std::clamp(v, 5.0, 3000.0)));
          break;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// CSV.

std::string EnterprisesCsvHeader() { return "code,name,region,industry,kind,ownership,size,key\n"; }
std::string ObservationsCsvHeader() { return "report_id,enterprise_code,indicator,period,value\n"; }

std::string EnterpriseCsvLine(const Enterprise& e) {
  return absl::StrCat(e.code, ",", CsvField(e.name), ",", e.region, ",", e.industry, ",",
                      cv1::OrganizationKind_Name(e.kind), ",", cv1::Ownership_Name(e.ownership),
                      ",", cv1::EnterpriseSize_Name(e.size), ",", e.key ? "true" : "false", "\n");
}

std::string ObservationCsvLine(const Observation& o) {
  return absl::StrCat(
      o.report_id, ",", o.enterprise_code, ",", kIndicatorInfo[o.indicator].id, ",", o.year, ",",
      o.boolean() ? (o.bool_value ? "true" : "false") : ShortestDouble(o.number_value), "\n");
}

absl::Status WriteCsvFiles(const Generator& gen, const std::string& dir, CsvCounts* counts) {
  struct Closer {
    void operator()(std::FILE* f) const {
      if (f != nullptr) std::fclose(f);
    }
  };
  const std::string ent_path = dir + "/enterprises.csv";
  const std::string obs_path = dir + "/observations.csv";
  std::unique_ptr<std::FILE, Closer> ent(std::fopen(ent_path.c_str(), "w"));
  if (ent == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot write ", ent_path));
  std::unique_ptr<std::FILE, Closer> obs(std::fopen(obs_path.c_str(), "w"));
  if (obs == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot write ", obs_path));
  CsvCounts c;
  std::string buf = EnterprisesCsvHeader();
  std::string obuf = ObservationsCsvHeader();
  std::vector<Observation> os;
  auto flush = [](std::string* b, std::FILE* f) {
    const bool ok = std::fwrite(b->data(), 1, b->size(), f) == b->size();
    b->clear();
    return ok;
  };
  for (int64_t i = 0; i < gen.size(); ++i) {
    Enterprise e = gen.EnterpriseAt(i);
    buf += EnterpriseCsvLine(e);
    ++c.enterprises;
    os.clear();
    gen.AppendObservations(e, &os);
    for (const auto& o : os) obuf += ObservationCsvLine(o);
    c.observations += static_cast<int64_t>(os.size());
    if (buf.size() > (1 << 20) && !flush(&buf, ent.get())) {
      return absl::DataLossError(absl::StrCat("writing ", ent_path));
    }
    if (obuf.size() > (1 << 20) && !flush(&obuf, obs.get())) {
      return absl::DataLossError(absl::StrCat("writing ", obs_path));
    }
  }
  if (!flush(&buf, ent.get()) || !flush(&obuf, obs.get()) || std::fflush(ent.get()) != 0 ||
      std::fflush(obs.get()) != 0) {
    return absl::DataLossError(absl::StrCat("writing ", dir));
  }
  if (counts != nullptr) *counts = c;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Reference evaluation.

const std::vector<TargetSpec>& Targets() {
  using A = TargetSpec::Aggregation;
  using R = TargetSpec::Rule;
  static const auto* targets = new std::vector<TargetSpec>{
      {"dev-cycle", kDevCycle, false, A::kMean, R::kRelativeChange, -0.12},
      {"energy-utilization", kEnergyUtilization, false, A::kMean, R::kRelativeChange, 0.05},
      {"industry-cloud-adoption", kIndustryCloud, false, A::kCountTrue, R::kMultiple, 2.0},
      {"inventory-turnover", kInventoryTurnover, false, A::kMean, R::kRelativeChange, 0.25},
      {"platform-coverage", kInnovationPlatform, true, A::kShareTrue, R::kAbsoluteGe, 0.8},
  };
  return *targets;
}

const char* StatusName(Status s) {
  switch (s) {
    case Status::kAchieved:
      return "ACHIEVED";
    case Status::kOnTrack:
      return "ON_TRACK";
    case Status::kAtRisk:
      return "AT_RISK";
    case Status::kOffTrack:
      return "OFF_TRACK";
    case Status::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "?";
}

ReferenceData BuildReference(const Generator& gen, int threads) {
  ReferenceData data;
  const int64_t n = gen.size();
  data.enterprises = n;
  data.province.assign(n, 0);
  data.manufacturer.assign(n, 0);
  data.key.assign(n, 0);
  for (auto& by_year : data.values) {
    for (auto& v : by_year) v.assign(n, std::numeric_limits<double>::quiet_NaN());
  }
  threads = std::max(1, threads);
  std::vector<std::array<std::array<int64_t, kYears>, kIndicators>> counts(threads);
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      std::vector<Observation> os;
      auto& c = counts[w];
      for (auto& row : c) row.fill(0);
      for (int64_t i = w; i < n; i += threads) {
        Enterprise e = gen.EnterpriseAt(i);
        data.province[i] = static_cast<uint8_t>(e.province);
        data.manufacturer[i] = e.manufacturer() ? 1 : 0;
        data.key[i] = e.key ? 1 : 0;
        os.clear();
        gen.AppendObservations(e, &os);
        for (const auto& o : os) {
          data.values[o.indicator][o.year - kFirstYear][i] = o.value();
          ++c[o.indicator][o.year - kFirstYear];
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  for (const auto& c : counts) {
    for (int k = 0; k < kIndicators; ++k) {
      for (int y = 0; y < kYears; ++y) {
        data.observations[k][y] += c[k][y];
        data.total_observations += c[k][y];
      }
    }
  }
  return data;
}

TargetResult EvaluateReference(const ReferenceData& data, const TargetSpec& t, int year,
                               int province) {
  constexpr double kFloor = 0.3;
  constexpr double kTolerance = 1e-12;
  const int p = year - kFirstYear;
  const auto& col = data.values[t.indicator];
  TargetResult r;
  // Per year y: reporters, sum and count of true over all reporters; and over the
  // (B, y) panel, the sums of the year-y and the baseline values.
  int64_t reporters[kYears] = {};
  double sum_all[kYears] = {};
  int64_t panel_n[kYears] = {};
  double panel_sum[kYears] = {};
  double panel_base_sum[kYears] = {};
  for (int64_t i = 0; i < data.enterprises; ++i) {
    if (!data.manufacturer[i] || (t.key_only && !data.key[i])) continue;
    if (province >= 0 && data.province[i] != province) continue;
    ++r.population;
    const double base = col[0][i];
    for (int y = 0; y <= p; ++y) {
      const double v = col[y][i];
      if (std::isnan(v)) continue;
      ++reporters[y];
      sum_all[y] += v;
      if (!std::isnan(base)) {
        ++panel_n[y];
        panel_sum[y] += v;
        panel_base_sum[y] += base;
      }
    }
  }
  r.baseline_reporters = reporters[0];
  r.current_reporters = reporters[p];
  const bool mean = t.aggregation == TargetSpec::Aggregation::kMean;
  if (mean) r.panel = panel_n[p];
  auto aggregate_all = [&](int y) -> double {
    if (t.aggregation == TargetSpec::Aggregation::kCountTrue) return sum_all[y];
    return sum_all[y] / static_cast<double>(reporters[y]);
  };
  // Points: y = B over all B reporters; y > B over the (B, y) panel (means), or all
  // reporters of y (share and count).
  std::vector<std::pair<double, double>> points;
  for (int y = 0; y <= p; ++y) {
    if (mean) {
      if (y == 0 && reporters[0] > 0) points.emplace_back(kFirstYear, aggregate_all(0));
      if (y > 0 && panel_n[y] > 0) {
        points.emplace_back(kFirstYear + y, panel_sum[y] / static_cast<double>(panel_n[y]));
      }
    } else if (reporters[y] > 0) {
      points.emplace_back(kFirstYear + y, aggregate_all(y));
    }
  }
  if (mean) {
    if (panel_n[p] > 0) {
      r.baseline = panel_base_sum[p] / static_cast<double>(panel_n[p]);
      r.current = panel_sum[p] / static_cast<double>(panel_n[p]);
    }
  } else {
    if (reporters[0] > 0) r.baseline = aggregate_all(0);
    if (reporters[p] > 0) r.current = aggregate_all(p);
  }
  bool ge = true;
  if (r.baseline) {
    switch (t.rule) {
      case TargetSpec::Rule::kAbsoluteGe:
        r.target = t.rule_value;
        break;
      case TargetSpec::Rule::kMultiple:
        r.target = *r.baseline * t.rule_value;
        ge = t.rule_value >= 1;
        break;
      case TargetSpec::Rule::kRelativeChange:
        r.target = *r.baseline * (1 + t.rule_value);
        ge = t.rule_value > 0;
        break;
    }
  }
  auto meets = [&](double v) {
    const double tol = kTolerance * std::max(std::abs(*r.target), std::abs(v));
    return ge ? v >= *r.target - tol : v <= *r.target + tol;
  };
  if (points.size() >= 2) {
    double mx = 0, my = 0;
    for (const auto& [x, y] : points) {
      mx += x;
      my += y;
    }
    mx /= static_cast<double>(points.size());
    my /= static_cast<double>(points.size());
    double sxy = 0, sxx = 0;
    for (const auto& [x, y] : points) {
      sxy += (x - mx) * (y - my);
      sxx += (x - mx) * (x - mx);
    }
    r.forecast = my + sxy / sxx * (kLastYear - mx);
  }
  if (r.baseline && r.current && r.target) {
    if (*r.target != *r.baseline) {
      r.progress = (*r.current - *r.baseline) / (*r.target - *r.baseline);
    } else if (meets(*r.current)) {
      r.progress = 1;
    }
  }
  const double pop = static_cast<double>(r.population);
  const bool covered = r.population > 0 &&
                       static_cast<double>(reporters[0]) / pop >= kFloor - kTolerance &&
                       static_cast<double>(reporters[p]) / pop >= kFloor - kTolerance;
  if (reporters[0] == 0 || !covered || !r.current || !r.target) {
    r.status = Status::kInsufficientData;
  } else if (meets(*r.current)) {
    r.status = Status::kAchieved;
  } else if (!r.forecast) {
    r.status = Status::kInsufficientData;
  } else if (*r.target == *r.baseline) {
    r.status = meets(*r.forecast) ? Status::kOnTrack : Status::kOffTrack;
  } else {
    const double f = (*r.forecast - *r.baseline) / (*r.target - *r.baseline);
    r.status = f >= 1 - kTolerance     ? Status::kOnTrack
               : f >= 0.5 - kTolerance ? Status::kAtRisk
                                       : Status::kOffTrack;
  }
  return r;
}

}  // namespace iplus::datagen
