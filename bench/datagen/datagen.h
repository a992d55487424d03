#pragma once

// A realistic, deterministic data set for the plan's evaluation: enterprises across the
// prefectures of the 31 mainland provinces, and their annual indicator reports for
// 2015-2018. The same seed and size always give the same data (the generator draws its
// own random numbers from hashes of the seed and the enterprise's index rather than
// using <random>'s distributions, whose output differs between standard libraries).
//
//   datagen::Options options;
//   options.seed = 1;
//   options.enterprises = 20000;
//   datagen::Generator gen(options);
//   for (int64_t i = 0; i < gen.size(); ++i) {
//     datagen::Enterprise e = gen.EnterpriseAt(i);
//     std::vector<datagen::Observation> obs;
//     gen.AppendObservations(e, &obs);
//   }
//
// Every enterprise and its reports are a pure function of (seed, index), so a data set of
// a million enterprises can be produced in any order, by any number of threads, without
// holding it in memory.
//
// What the data looks like (the parameters are in datagen.cc):
// - Regions: provinces weighted by their number of manufacturers (Jiangsu, Guangdong,
//   Zhejiang and Shandong largest; Tibet, Qinghai and Hainan smallest); within a
//   province, one of its real prefecture codes (PPCC00) and a county code PPCCDD.
//   Hong Kong, Macao and Taiwan are left out: the plan and the credit code system cover
//   the mainland.
// - Kinds: about 94 % manufacturers in the 31 divisions C13-C43 (weighted: electronics,
//   electrical, machinery, chemicals largest), the rest Internet service providers,
//   telecom operators, universities, research institutes, makerspaces and platform
//   operators in their own industries (I63, I64, I65, M73, M75, P83).
// - Ownership mostly private (about 70 %), then joint-stock, foreign, Hong Kong/Macao/
//   Taiwan (more in Guangdong and Fujian), state-owned; sizes about 3 % large, 12 %
//   medium, 55 % small, 30 % micro; key enterprises about 5 %, mostly large and medium.
// - Credit codes: valid GB 32100-2015 codes with both check characters, unique by
//   construction; older organisation codes are eight digits, newer ones start "MA".
// - Reports: only manufacturers report the five indicators (the other kinds report the
//   two booleans now and then). About 86 % of manufacturers ever report, fewer in the
//   west; reporters join in 2015-2018, a few stop, some skip a year, some leave out an
//   indicator. Coverage grows from about 0.48 in 2015 to about 0.72 in 2018.
// - Trends: each province has a pace (coastal leaders fast, the north-east and the west
//   slow), varied per indicator. Nationally the product development cycle falls about
//   13 % (target -12 %: met), energy utilisation rises about 6 % (target +5 %: met),
//   industry-cloud users more than double (met), inventory turnover rises about 11 %
//   (target +25 %: off track) and the innovation-platform share of key manufacturers
//   reaches about 0.7 (target 0.8: at risk); provinces differ on every target, and in
//   Tibet and Qinghai too few report for a status (coverage under the 0.3 floor).
//
// Thread-safe: a Generator is immutable after construction.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "iplus/common/v1/common.pb.h"

namespace iplus::datagen {

inline constexpr int kFirstYear = 2015;  // the plan's baseline
inline constexpr int kLastYear = 2018;   // the plan's deadline
inline constexpr int kYears = kLastYear - kFirstYear + 1;
inline constexpr int kIndicators = 5;
inline constexpr int64_t kMaxEnterprises = 50'000'000;

// The five indicators of the plan, in ingest's id order.
enum Indicator : int {
  kEnergyUtilization = 0,   // energy_utilization_rate, %, number
  kIndustryCloud = 1,       // industry_cloud, boolean
  kInnovationPlatform = 2,  // innovation_platform, boolean
  kInventoryTurnover = 3,   // inventory_turnover, times/year, number
  kDevCycle = 4,            // product_dev_cycle_days, days, number
};

struct IndicatorInfo {
  const char* id;      // ingest's indicator id
  const char* abbrev;  // two letters, used in report ids
  bool boolean;
};
const std::array<IndicatorInfo, kIndicators>& Indicators();

struct ProvinceInfo {
  std::string code;  // "440000"
  std::string name;  // "Guangdong"
  double weight;     // relative number of manufacturers
  double pace;       // relative speed of improvement; the national mean is 1
};
// The 31 mainland provinces in code order.
const std::vector<ProvinceInfo>& Provinces();

struct Options {
  uint64_t seed = 1;
  int64_t enterprises = 20000;
};

// OK, or INVALID_ARGUMENT naming the field ("enterprises": 1..kMaxEnterprises).
absl::Status ValidateOptions(const Options& options);

struct Enterprise {
  int64_t index = 0;
  std::string code;  // 18-character Unified Social Credit Code
  std::string name;
  std::string region;    // 6-digit county or prefecture code
  std::string industry;  // GB/T 4754-2017 division, e.g. "C39"
  common::v1::OrganizationKind kind = common::v1::ORGANIZATION_KIND_UNSPECIFIED;
  common::v1::Ownership ownership = common::v1::OWNERSHIP_UNSPECIFIED;
  common::v1::EnterpriseSize size = common::v1::ENTERPRISE_SIZE_UNSPECIFIED;
  bool key = false;
  int province = 0;  // index into Provinces()

  bool manufacturer() const { return kind == common::v1::ORGANIZATION_KIND_MANUFACTURER; }
};

struct Observation {
  // "dg-<code>-<indicator abbrev>-<year>-<6 hex digits of the value>": derived from the
  // row, so loading the same data again is a no-op (DUPLICATE), and a different value
  // (another seed) becomes a revision rather than a reused report id.
  std::string report_id;
  std::string enterprise_code;
  Indicator indicator = kEnergyUtilization;
  int year = kFirstYear;
  bool bool_value = false;  // for boolean indicators
  double number_value = 0;  // for number indicators

  bool boolean() const { return Indicators()[indicator].boolean; }
  std::string period() const;
  // Booleans as 0 or 1.
  double value() const { return boolean() ? (bool_value ? 1.0 : 0.0) : number_value; }
};

class Generator {
 public:
  // REQUIRES: ValidateOptions(options).ok().
  explicit Generator(Options options);

  const Options& options() const { return options_; }
  int64_t size() const { return options_.enterprises; }

  // REQUIRES: 0 <= index < size().
  Enterprise EnterpriseAt(int64_t index) const;

  // Appends the reports of `e` (as returned by EnterpriseAt), by year, then indicator.
  void AppendObservations(const Enterprise& e, std::vector<Observation>* out) const;

 private:
  Options options_;
};

// ---------------------------------------------------------------------------------------
// CSV files. Fields are separated by commas; a field holding a comma or a double quote is
// enclosed in double quotes, with inner quotes doubled (RFC 4180). Lines end with "\n".
//
// enterprises.csv: code,name,region,industry,kind,ownership,size,key
//   kind, ownership and size are the iplus.common.v1 enum value names
//   (ORGANIZATION_KIND_MANUFACTURER, OWNERSHIP_PRIVATE, ENTERPRISE_SIZE_SMALL); key is
//   "true" or "false".
// observations.csv: report_id,enterprise_code,indicator,period,value
//   value is "true"/"false" for a boolean indicator, otherwise the number in the
//   shortest text that reads back to the same double.

std::string EnterprisesCsvHeader();
std::string ObservationsCsvHeader();
// One line each, with its "\n".
std::string EnterpriseCsvLine(const Enterprise& e);
std::string ObservationCsvLine(const Observation& o);

struct CsvCounts {
  int64_t enterprises = 0;
  int64_t observations = 0;
};
// Writes <dir>/enterprises.csv and <dir>/observations.csv (the directory must exist).
absl::Status WriteCsvFiles(const Generator& gen, const std::string& dir, CsvCounts* counts);

// ---------------------------------------------------------------------------------------
// Reference evaluation of the plan's five targets (DESIGN §2, as the evaluation service
// seeds them) over generated data held in memory, for tests and as a benchmark baseline.

struct TargetSpec {
  const char* id;  // "dev-cycle"
  Indicator indicator;
  bool key_only;  // population: key manufacturers (else all manufacturers)
  enum class Aggregation { kShareTrue, kCountTrue, kMean } aggregation;
  enum class Rule { kAbsoluteGe, kMultiple, kRelativeChange } rule;
  double rule_value;  // 0.8, 2, -0.12, 0.25, 0.05
};
// In target id order: dev-cycle, energy-utilization, industry-cloud-adoption,
// inventory-turnover, platform-coverage.
const std::vector<TargetSpec>& Targets();

enum class Status { kAchieved, kOnTrack, kAtRisk, kOffTrack, kInsufficientData };
const char* StatusName(Status s);  // "ACHIEVED", ...

// Every generated value by indicator and year, plus what an evaluation filters by.
struct ReferenceData {
  int64_t enterprises = 0;
  std::vector<uint8_t> province;  // index into Provinces()
  std::vector<uint8_t> manufacturer;
  std::vector<uint8_t> key;
  // values[indicator][year - kFirstYear][enterprise]; NaN where nothing was reported.
  std::array<std::array<std::vector<double>, kYears>, kIndicators> values;

  // Observations per indicator and year, over every kind of enterprise.
  std::array<std::array<int64_t, kYears>, kIndicators> observations{};
  int64_t total_observations = 0;
};
// Generates everything once (the work is spread over `threads` threads).
ReferenceData BuildReference(const Generator& gen, int threads = 1);

struct TargetResult {
  int64_t population = 0;
  int64_t baseline_reporters = 0;
  int64_t current_reporters = 0;
  int64_t panel = 0;  // matched panel (B, P) for means; 0 otherwise
  std::optional<double> baseline;
  std::optional<double> current;
  std::optional<double> target;
  std::optional<double> progress;
  std::optional<double> forecast;
  Status status = Status::kInsufficientData;
};

// Evaluates `t` in `year` (kFirstYear..kLastYear) for one province (its index) or the
// whole country (province < 0), with a coverage floor of 0.3 and DESIGN §2's panel
// defaults (matched panel for means).
TargetResult EvaluateReference(const ReferenceData& data, const TargetSpec& t, int year,
                               int province);

}  // namespace iplus::datagen
