#pragma once

// The ingestion service's storage port. The Redis adapter (services/ingest/store) and
// the in-memory fake (memory_store.h) implement it. Thread-safe; UNAVAILABLE when the
// backing store cannot be reached.
//
// Observation writes are prepared by the domain core and applied by the store with a
// compare-and-set on the series they change, so that concurrent writers never lose an
// update: a write whose series moved since it was read comes back kConflict and the core
// prepares it again.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/ingest/domain/indicator.h"
#include "services/ingest/domain/observation.h"

namespace iplus::ingest {

// One enterprise's series of one indicator.
struct SeriesKey {
  std::string indicator;
  std::string code;
  bool operator==(const SeriesKey& o) const { return indicator == o.indicator && code == o.code; }
  template <typename H>
  friend H AbslHashValue(H h, const SeriesKey& k) {
    return H::combine(std::move(h), k.indicator, k.code);
  }
};

// The values of one indicator in one period (text form of the period).
struct DataKey {
  std::string indicator;
  std::string period;
};

struct ObservationWrite {
  // Report identity (Hash64Bytes of reporter and report id) and content fingerprint
  // (Hash64Bytes of code, indicator, period and value).
  std::string report_key;
  std::string fingerprint;
  SeriesKey series;
  std::string period;
  // The series text the write was prepared against ("" for none), and the new text;
  // new_series empty means the value is unchanged (only the report is recorded).
  std::string expected_series;
  std::string new_series;
  // Canonical value text for the (indicator, period) column.
  std::string value;
  // The entry replaced by a revision ("" otherwise); appended to the history.
  std::string replaced_entry;
  // True for the first value of (enterprise, indicator, period): coverage grows.
  bool first_value = false;
};

enum class WriteStatus {
  kApplied,
  // The report was seen before with the same content: nothing changed.
  kDuplicateReport,
  // The report id was seen before with other content: nothing changed.
  kReportIdReused,
  // The series moved since it was read: nothing changed; prepare again.
  kConflict,
};

struct HistoryEntry {
  // The entry as it was before a revision replaced it.
  SeriesEntry entry;
};

// At most this many (code, value) pairs are listed with one change of one key.
inline constexpr int kMaxListedChangeValues = 64;

struct Change {
  int64_t version = 0;
  DataKey key;
  int64_t data_version = 0;
  absl::Time time;
  // The values the change set, in write order, when `listed` (at most
  // kMaxListedChangeValues of them); otherwise empty.
  std::vector<std::pair<std::string, double>> values;
  bool listed = false;
};

struct ChangesPage {
  std::vector<Change> changes;
  int64_t ingest_version = 0;
  bool truncated = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Catalogue. Create returns the existing indicator with false when the id is taken.
  virtual absl::StatusOr<std::vector<Indicator>> ListIndicators() = 0;
  virtual absl::StatusOr<std::pair<Indicator, bool>> CreateIndicator(
      const Indicator& indicator) = 0;
  virtual absl::StatusOr<Indicator> ReplaceIndicator(const Indicator& indicator) = 0;

  // A small, stable number for a reporter name, assigned on first use.
  virtual absl::StatusOr<int> ReporterId(const std::string& reporter) = 0;
  virtual absl::StatusOr<std::string> ReporterName(int id) = 0;

  // The series text of each key ("" where none), in order.
  virtual absl::StatusOr<std::vector<std::string>> ReadSeries(
      const std::vector<SeriesKey>& keys) = 0;

  // The fingerprint stored for each report key ("" where the report was never seen).
  virtual absl::StatusOr<std::vector<std::string>> ReadReports(
      const std::vector<std::string>& report_keys) = 0;

  // Applies the writes in order, each atomically (report, series, column, history,
  // coverage), and bumps the data version of every (indicator, period) changed, appending
  // one change per such key. `time` stamps the changes.
  virtual absl::StatusOr<std::vector<WriteStatus>> Apply(
      const std::vector<ObservationWrite>& writes, absl::Time time) = 0;

  // Entries replaced by revisions of (code, indicator, period), oldest first.
  virtual absl::StatusOr<std::vector<SeriesEntry>> History(const SeriesKey& key,
                                                           const std::string& period) = 0;

  // Every (code, value) of the column, ordered by code, in batches of `batch_size`, with
  // the data version read at the start. Stops early when `sink` returns false.
  virtual absl::Status Scan(
      const DataKey& key, int batch_size,
      const std::function<bool(const std::vector<std::pair<std::string, double>>&, int64_t)>&
          sink) = 0;

  // Reporters and data version per key, in order.
  virtual absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> Coverage(
      const std::vector<DataKey>& keys) = 0;
  virtual absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> DataVersions(
      const std::vector<DataKey>& keys) = 0;
  virtual absl::StatusOr<ChangesPage> ListChanges(int64_t after_version, int limit) = 0;
};

}  // namespace iplus::ingest
