#pragma once

// The evaluation domain's vocabulary: targets, scopes, results, and the in-memory
// dataset the evaluations read. No gRPC and no Redis here: the feed fills a Dataset from
// the registry's export and events and from ingest's scans and changes; the service
// converts Targets and Results to and from the v1 messages.
//
// Enum numbers equal the v1 API's enum numbers, so conversion is a cast.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/refdata/period.h"

namespace iplus::evaluation {

using refdata::Period;

// iplus.common.v1 enums; 0 means "any" in a population or a scope.
enum class Aggregation : int {
  kUnspecified = 0,
  kShareTrue = 1,
  kCountTrue = 2,
  kMean = 3,
  kMedian = 4
};
enum class Comparison : int { kUnspecified = 0, kGe = 1, kLe = 2 };
enum class PanelMode : int { kUnspecified = 0, kMatched = 1, kAllReporters = 2 };
enum class Status : int {
  kUnspecified = 0,
  kAchieved = 1,
  kOnTrack = 2,
  kAtRisk = 3,
  kOffTrack = 4,
  kInsufficientData = 5
};
enum class Dimension : int {
  kUnspecified = 0,
  kProvince = 1,
  kPrefecture = 2,
  kIndustryDivision = 3,
  kOwnership = 4,
  kSize = 5
};

// What a target or a conditioned milestone requires.
struct Rule {
  enum class Kind { kUnset, kAbsolute, kMultiple, kRelativeChange };
  Kind kind = Kind::kUnset;
  Comparison comparison = Comparison::kUnspecified;  // absolute only
  double value = 0;  // absolute: X; multiple: m; relative change: r (-0.12, 0.25)
};

// Which enterprises a target counts; 0 / false fields do not restrict.
struct Population {
  int kind = 0;  // iplus.common.v1.OrganizationKind
  bool key_only = false;
  int ownership = 0;  // iplus.common.v1.Ownership
  int size = 0;       // iplus.common.v1.EnterpriseSize
};

// Which enterprises a query covers; empty / 0 / false fields do not restrict.
struct Scope {
  std::string region_prefix;    // literal prefix of the 6-digit region code
  std::string industry_prefix;  // "C", "C26", "C261", ...
  int ownership = 0;
  int size = 0;
  bool key_only = false;
  int kind = 0;
};

inline constexpr double kDefaultCoverageFloor = 0.3;

struct Target {
  std::string id;
  std::string title;
  std::string indicator;
  Population population;
  Aggregation aggregation = Aggregation::kUnspecified;
  Rule rule;
  Period baseline;
  Period deadline;
  PanelMode panel_mode = PanelMode::kUnspecified;
  std::optional<double> coverage_floor;
  std::string description;
  bool archived = false;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
  std::string etag;
};

// The attributes of one enterprise an evaluation filters and groups by.
struct EnterpriseAttrs {
  std::string region;    // 6-digit code
  std::string industry;  // GB/T 4754 code, e.g. "C2614"
  uint8_t kind = 0;
  uint8_t ownership = 0;
  uint8_t size = 0;
  bool key = false;
  bool archived = false;
};

// One indicator in one period: a value per enterprise index, or none. The vectors may be
// shorter than the dataset (enterprises added after the column was loaded): an index
// past their end has no value.
struct Column {
  std::vector<double> values;    // by enterprise index; meaningful where present
  std::vector<uint8_t> present;  // by enterprise index; 1 when the enterprise reported
  int64_t reporters = 0;         // number of present entries
  int64_t data_version = 0;      // ingest's data version of (indicator, period)
};

// Enterprises (dense indices, never reused) and the columns read so far. Not
// thread-safe: the owner serialises writers against readers.
class Dataset {
 public:
  // Inserts or replaces an enterprise; returns its index.
  int32_t Upsert(absl::string_view code, EnterpriseAttrs attrs);
  std::optional<int32_t> Find(absl::string_view code) const;
  int32_t size() const { return static_cast<int32_t>(attrs_.size()); }
  const EnterpriseAttrs& attrs(int32_t index) const { return attrs_[index]; }
  const std::string& code(int32_t index) const { return codes_[index]; }

  // Sets one value (booleans as 0 or 1) and the column's data version.
  void SetValue(const std::string& indicator, const Period& period, int32_t index, double value,
                int64_t data_version);
  // Replaces a whole column with the given (index, value) pairs.
  void ReplaceColumn(const std::string& indicator, const Period& period,
                     const std::vector<std::pair<int32_t, double>>& values, int64_t data_version);
  // Null when nothing was loaded for the key.
  const Column* column(const std::string& indicator, const Period& period) const;
  // 0 when nothing was loaded for the key.
  int64_t data_version(const std::string& indicator, const Period& period) const;

  // The registry version the enterprises reflect.
  int64_t registry_version() const { return registry_version_; }
  void set_registry_version(int64_t v) { registry_version_ = v; }

 private:
  Column& MutableColumn(const std::string& indicator, const Period& period);

  std::vector<std::string> codes_;
  std::vector<EnterpriseAttrs> attrs_;
  absl::flat_hash_map<std::string, int32_t> index_;
  std::map<std::pair<std::string, Period>, Column> columns_;
  int64_t registry_version_ = 0;
};

// One point of the trend a forecast is fitted to.
struct TrendPoint {
  Period period;
  double value = 0;
  int64_t reporters = 0;  // the panel size with a matched panel
};

struct DataVersionEntry {
  std::string indicator;
  Period period;
  int64_t version = 0;
};

// The result of evaluating one target for one scope and period (the v1 Evaluation).
struct Result {
  std::string target_id;
  Scope scope;
  Period period;
  std::optional<double> baseline_value;
  std::optional<double> current_value;
  std::optional<double> target_value;
  std::optional<double> progress;
  double expected_progress = 0;
  Status status = Status::kUnspecified;
  std::string status_reason;
  std::optional<double> forecast_value;
  std::vector<TrendPoint> points;
  int64_t population = 0;
  int64_t baseline_reporters = 0;
  int64_t current_reporters = 0;
  double coverage_ratio = 0;
  double baseline_coverage_ratio = 0;
  double coverage_floor = kDefaultCoverageFloor;
  int64_t panel_size = 0;
  PanelMode panel_mode = PanelMode::kUnspecified;  // the mode applied, never unspecified
  int64_t registry_version = 0;
  std::vector<DataVersionEntry> ingest_versions;  // one per period read, in order
  std::string target_etag;
};

struct BreakdownGroup {
  std::string key;    // "440000", "C26", "OWNERSHIP_PRIVATE", "ENTERPRISE_SIZE_LARGE"
  std::string label;  // "Guangdong", the division's name, "private"
  Result result;
};

struct BreakdownResult {
  std::vector<BreakdownGroup> groups;  // league-table order
  Result total;
};

}  // namespace iplus::evaluation
