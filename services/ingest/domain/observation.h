#pragma once

// Observations and their per-item results, and the compact text encoding in which the
// store keeps one enterprise's series of one indicator.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace iplus::ingest {

// Numbers equal the v1 API's enum numbers.
enum class Outcome : int {
  kUnspecified = 0,
  kAccepted = 1,
  kDuplicate = 2,
  kRevised = 3,
  kRejected = 4
};

enum class RejectReason : int {
  kUnspecified = 0,
  kMissingField = 1,
  kMalformedField = 2,
  kUnknownEnterprise = 3,
  kArchivedEnterprise = 4,
  kUnknownIndicator = 5,
  kRetiredIndicator = 6,
  kValueNotFinite = 7,
  kValueOutOfRange = 8,
  kWrongValueType = 9,
  kMalformedPeriod = 10,
  kWrongGranularity = 11,
  kFuturePeriod = 12,
  kNotAuthorized = 13,
  kRegistryUnavailable = 14,
  kReportIdReused = 15,
};
const char* RejectReasonName(RejectReason reason);  // "UNKNOWN_ENTERPRISE", ...

enum class OutlierKind : int {
  kUnspecified = 0,
  kOwnHistory = 1,
  kIndustryPeers = 2,
  kHardRange = 3
};

struct Flag {
  OutlierKind kind = OutlierKind::kUnspecified;
  double score = 0;
  double threshold = 0;
  bool operator==(const Flag& o) const {
    return kind == o.kind && score == o.score && threshold == o.threshold;
  }
};

// What a reporter sends.
struct ObservationInput {
  enum class ValueKind { kNone, kBool, kNumber };
  std::string report_id;
  std::string enterprise_code;
  std::string indicator;
  std::string period;
  ValueKind kind = ValueKind::kNone;
  bool bool_value = false;
  double number_value = 0;
};

struct ItemResult {
  int index = 0;
  Outcome outcome = Outcome::kUnspecified;
  RejectReason reason = RejectReason::kUnspecified;
  std::string field;
  std::string message;
  bool retryable = false;
  std::vector<Flag> flags;
  int revision = 0;
};

// One stored value of a series: the current value of (enterprise, indicator, period).
struct SeriesEntry {
  int ordinal = 0;  // refdata::PeriodOrdinal of the period
  double value = 0;
  int revision = 0;
  int reporter_id = 0;
  int64_t time_s = 0;  // Unix seconds of acceptance
  std::string report_id;
  std::vector<Flag> flags;
};

// Series text: entries ordered by ordinal, separated by ';'; an entry is
// "ordinal(base 36),value,revision,reporter,time(base 36),report id[,flags]" with flags
// "kind:score:threshold|...". A lower-case canonical UUID report id is stored as '~' and
// the base64url of its 16 bytes. Report ids cannot contain ',', ';', '|', ':' or '~' (see
// ValidReportId), so the text is unambiguous. Every byte counts: a province holds
// millions of entries.
std::string EncodeEntry(const SeriesEntry& entry);
absl::StatusOr<SeriesEntry> DecodeEntry(absl::string_view text);
std::string EncodeSeries(const std::vector<SeriesEntry>& entries);
absl::StatusOr<std::vector<SeriesEntry>> DecodeSeries(absl::string_view text);

// The shortest decimal text that parses back to exactly `value` ("12.5", "0.1", "1e-07").
std::string CanonicalNumber(double value);

// 1..64 characters of [A-Za-z0-9._-].
bool ValidReportId(absl::string_view id);

// Stable 64-bit hash (FNV-1a), as 8 raw bytes: used for report-id keys and content
// fingerprints stored in Redis.
std::string Hash64Bytes(absl::string_view data);
uint64_t Hash64(absl::string_view data);

}  // namespace iplus::ingest
